// An ONNX graph under construction: nodes, constants, inputs and outputs, written out with onnx-proto.
import { onnx } from 'onnx-proto';

export type OnnxDtype = 'float32' | 'int32' | 'int64' | 'bool';

const DATA_TYPE: Record<OnnxDtype, onnx.TensorProto.DataType> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** The operator set the compiler writes for (ReduceMean's axes are still an attribute at 17). */
export const OPSET = 17;

/** Integers are INT attributes and arrays INTS; a float attribute is written `{ f: x }` (alpha = 1 is still a float). */
export type AttrValue = number | { f: number } | string | number[];

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  return { name, type: T.FLOAT, f: value.f };
}

function valueInfo(name: string, dtype: OnnxDtype, dims: readonly number[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: DATA_TYPE[dtype], shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

export interface GraphPort {
  name: string;
  dtype: OnnxDtype;
  /** Dimensions as stored (the physical layout the graph uses for this value). */
  dims: number[];
  /** The stored layout: stored axis i is axis perm[i] of the tfjs tensor. */
  perm: number[];
}

/** How many values a port holds. */
export function portSize(port: GraphPort): number {
  return port.dims.reduce((a, b) => a * b, 1);
}

export class OnnxGraph {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: GraphPort[] = [];
  readonly outputs: GraphPort[] = [];
  private readonly constCache = new Map<string, { name: string; raw: Uint8Array }>();
  private counter = 0;
  /** Names computed by nodes, and those renamed to the graph output they are (applied when written out). */
  private readonly producers = new Set<string>();
  private readonly renames = new Map<string, string>();

  fresh(prefix = 'v'): string {
    return `${prefix}${this.counter++}`;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Adds a node; returns its output names. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    return this.nodeWithOutputs(
      op,
      inputs,
      attrs,
      Array.from({ length: outputs }, () => this.fresh()),
    );
  }

  /** A node whose outputs get chosen names (graph outputs need stable ones). */
  nodeWithOutputs(op: string, inputs: string[], attrs: Record<string, AttrValue>, outputs: string[]): string[] {
    for (const o of outputs) this.producers.add(o);
    this.nodes.push({ opType: op, input: inputs, output: outputs, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return outputs;
  }

  /** A one-output node; returns its output's name. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, attrs, 1)[0];
  }

  /** A constant tensor, shared by content (a large one by a hash of its bytes, then compared in full). */
  constant(values: ArrayLike<number> | ArrayLike<boolean>, dims: readonly number[], dtype: OnnxDtype): string {
    let raw: Uint8Array;
    if (dtype === 'float32') raw = new Uint8Array(Float32Array.from(values as ArrayLike<number>).buffer);
    else if (dtype === 'int32') raw = new Uint8Array(Int32Array.from(values as ArrayLike<number>).buffer);
    else if (dtype === 'int64') raw = new Uint8Array(BigInt64Array.from(Array.from(values as ArrayLike<number>, (v) => BigInt(v))).buffer);
    else raw = Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
    const key = `${dtype}|${dims.join(',')}|${raw.length <= 64 ? raw.join(',') : fnv1a(raw)}`;
    const cached = this.constCache.get(key);
    if (cached && sameBytes(cached.raw, raw)) return cached.name;
    const name = this.fresh('c');
    this.initializers.push({ name, dims: [...dims], dataType: DATA_TYPE[dtype], rawData: raw });
    this.constCache.set(key, { name, raw });
    return name;
  }

  int64s(values: readonly number[]): string {
    return this.constant(values, [values.length], 'int64');
  }

  scalar(value: number, dtype: OnnxDtype = 'float32'): string {
    return this.constant([value], [], dtype);
  }

  addInput(port: GraphPort): void {
    this.inputs.push(port);
  }

  /** Removes the inputs that no node reads and no output is. */
  dropUnusedInputs(): void {
    const read = new Set(this.nodes.flatMap((n) => n.input!));
    const kept = this.inputs.filter((p) => read.has(p.name) || this.outputs.some((o) => o.name === p.name));
    this.inputs.splice(0, this.inputs.length, ...kept);
  }

  /**
   * Makes the value `value` a graph output named `port.name`. The node that computes it writes the output directly
   * (an Identity would copy every weight each step); values that are inputs, constants or already outputs get one.
   */
  addOutput(port: GraphPort, value: string): void {
    const produced = this.producers.has(value) && !this.renames.has(value);
    if (produced) this.renames.set(value, port.name);
    else this.nodeWithOutputs('Identity', [this.renames.get(value) ?? value], {}, [port.name]);
    this.outputs.push(port);
  }

  /** The model as ONNX bytes; `forWebGpu` writes the ops WebGPU lacks with ones it has (WEBGPU_LOWERING). */
  toBytes(options: { forWebGpu?: boolean } = {}): Uint8Array {
    const renamed = (name: string) => this.renames.get(name) ?? name;
    const nodes = this.nodes.flatMap((n): onnx.INodeProto[] => {
      const node = { ...n, input: n.input!.map(renamed), output: n.output!.map(renamed) };
      const lower = options.forWebGpu ? WEBGPU_LOWERING[n.opType!] : undefined;
      return lower ? lower(node) : [node];
    });
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: 'munit-studio',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: 'munit',
        node: nodes,
        initializer: this.initializers,
        input: this.inputs.map((p) => valueInfo(p.name, p.dtype, p.dims)),
        output: this.outputs.map((p) => valueInfo(p.name, p.dtype, p.dims)),
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

/** A 32-bit FNV-1a hash, to find equal large constants. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const floatAttr = (node: onnx.INodeProto, name: string) => node.attribute?.find((a) => a.name === name)?.f;

/**
 * The ops onnxruntime 1.30's WebGPU provider has no kernel for, written with ops it has: else they run on the CPU,
 * with a copy off the GPU and back for each (test/core/onnx-webgpu.test.ts runs the step with the CPU fallback off).
 */
const WEBGPU_LOWERING: Record<string, (node: onnx.INodeProto) => onnx.INodeProto[]> = {
  /** The gradient sums: n - 1 Adds. */
  Sum: ({ input, output }) =>
    input!.slice(1).map((x, i) => ({
      opType: 'Add',
      input: [i === 0 ? input![0] : `${output![0]}:sum${i - 1}`, x],
      output: [i === input!.length - 2 ? output![0] : `${output![0]}:sum${i}`],
    })),
  /** selu(x) = gamma elu(x, alpha). */
  Selu: (node) => {
    const [x, y] = [node.input![0], node.output![0]];
    const [alpha, gamma] = [floatAttr(node, 'alpha') ?? 1.6732632423543772, floatAttr(node, 'gamma') ?? 1.0507009873554805];
    return [
      { opType: 'Elu', input: [x], output: [`${y}:elu`], attribute: [attribute('alpha', { f: alpha })] },
      { opType: 'Constant', input: [], output: [`${y}:gamma`], attribute: [attribute('value_float', { f: gamma })] },
      { opType: 'Mul', input: [`${y}:elu`, `${y}:gamma`], output: [y] },
    ];
  },
};
