// How a failing handler answers: a language feature as if it had nothing to say, a request with an error response.
// Either way the failure is reported and the server goes on.
import { type Connection, ResponseError } from 'vscode-languageserver/node';

/** LSP's "request failed" code: the request was valid but could not be carried out. */
const REQUEST_FAILED = -32803;

export const describe = (err: unknown) => (err instanceof Error ? (err.stack ?? err.message) : String(err));

/** A language feature: a failure is logged and answered with `empty`. */
export function feature<T, R>(connection: Connection, name: string, empty: R, fn: (params: T) => R): (params: T) => R {
  return (params: T) => {
    try {
      return fn(params);
    } catch (err) {
      const uri = (params as { textDocument?: { uri?: unknown } } | undefined)?.textDocument?.uri;
      connection.console.error(`${name} failed${typeof uri === 'string' ? ` for ${uri}` : ''}: ${describe(err)}`);
      return empty;
    }
  };
}

/** A failure as an error response: bad params keep their code, anything else is "request failed" with its message. */
export function asResponseError(err: unknown): ResponseError<void> {
  return err instanceof ResponseError ? err : new ResponseError(REQUEST_FAILED, err instanceof Error ? err.message : String(err));
}
