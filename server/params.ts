// Checks of the parameters of the munit/* requests, before anything runs: a wrong value is refused with JSON-RPC's
// Invalid params and a message naming the key, the value and what is allowed.
import { ErrorCodes, ResponseError } from 'vscode-languageserver/node';
import type * as P from './protocol.js';

export class ParamsError extends ResponseError<void> {
  constructor(message: string) {
    super(ErrorCodes.InvalidParams, message);
  }
}

export type Params = Record<string, unknown>;

const show = (value: unknown) => (value === undefined ? 'nothing' : (JSON.stringify(value)?.slice(0, 80) ?? String(value)));

/** The params object; `undefined` (no params sent) is an empty one when every parameter is optional. */
export function paramsOf(method: string, params: unknown, allOptional: boolean): Params {
  if (params === undefined || params === null) {
    if (allOptional) return {};
    throw new ParamsError(`${method} needs its parameters (an object)`);
  }
  if (typeof params !== 'object' || Array.isArray(params)) throw new ParamsError(`${method}: the parameters must be an object, got ${show(params)}`);
  return params as Params;
}

export function optionalString(params: Params, key: string): string | undefined {
  const value = params[key];
  if (value !== undefined && typeof value !== 'string') throw new ParamsError(`${key}: expected a string, got ${show(value)}`);
  return value;
}

export function optionalBoolean(params: Params, key: string): boolean | undefined {
  const value = params[key];
  if (value !== undefined && typeof value !== 'boolean') throw new ParamsError(`${key}: expected true or false, got ${show(value)}`);
  return value;
}

export function requiredString(params: Params, key: string): string {
  const value = optionalString(params, key);
  if (value === undefined) throw new ParamsError(`${key}: required`);
  return value;
}

export function oneOf<T extends string>(params: Params, key: string, allowed: readonly T[]): T | undefined {
  const value = params[key];
  if (value !== undefined && !allowed.includes(value as T))
    throw new ParamsError(`${key}: ${show(value)} is not allowed; use ${allowed.map((a) => `"${a}"`).join(' or ')}`);
  return value as T | undefined;
}

export function numbers(value: unknown, key: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v)))
    throw new ParamsError(`${key}: expected an array of finite numbers, got ${show(value)}`);
  return value;
}

export function optionalObject(params: Params, key: string): Params | undefined {
  const value = params[key];
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value)))
    throw new ParamsError(`${key}: expected an object, got ${show(value)}`);
  return value as Params | undefined;
}

/** A style choice: {kind: "random", count, seed?}, {kind: "vector", values} or {kind: "example", image}. */
export function styleChoice(params: Params): P.StyleChoice {
  const style = optionalObject(params, 'style');
  const forms = 'give {kind: "random", count}, {kind: "vector", values} or {kind: "example", image}';
  if (!style) throw new ParamsError(`style: required; ${forms}`);
  switch (style.kind) {
    case 'random': {
      const { count, seed } = style;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 64)
        throw new ParamsError(`style.count: expected an integer from 1 to 64, got ${show(count)}`);
      if (seed !== undefined && (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff))
        throw new ParamsError(`style.seed: expected an integer from 0 to 4294967295, got ${show(seed)}`);
      return { kind: 'random', count, ...(seed !== undefined ? { seed } : {}) };
    }
    case 'vector':
      return { kind: 'vector', values: numbers(style.values, 'style.values') };
    case 'example':
      if (typeof style.image !== 'string') throw new ParamsError(`style.image: expected an absolute file path, got ${show(style.image)}`);
      return { kind: 'example', image: style.image };
    default:
      throw new ParamsError(`style.kind: ${show(style.kind)} is not allowed; ${forms}`);
  }
}
