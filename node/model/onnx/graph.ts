// A small builder for ONNX graphs (opset 17, IR 8) over onnx-proto's generated types:
// named values, initializers from typed arrays, nodes with typed attributes.
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;
type IAttr = onnxProto.onnx.IAttributeProto;

export const OPSET = 17;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const UINT8 = onnx.TensorProto.DataType.UINT8;
/** onnxruntime's contrib operators (MatMulNBits). */
export const MS_DOMAIN = "com.microsoft";
const A = onnx.AttributeProto.AttributeType;

export const attr = {
  int: (name: string, i: number): IAttr => ({ name, type: A.INT, i }),
  ints: (name: string, ints: number[]): IAttr => ({ name, type: A.INTS, ints }),
  float: (name: string, f: number): IAttr => ({ name, type: A.FLOAT, f }),
};

/** A dimension: a number, or a symbolic name (dynamic). */
export type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): IValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: INode[] = [];
  private readonly initializers: ITensor[] = [];
  private readonly inputs: IValueInfo[] = [];
  private readonly outputs: IValueInfo[] = [];
  private readonly consts = new Map<string, string>();
  private counter = 0;
  private usesMs = false;
  private readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  input(name: string, dims: Dim[], type: "float32" | "int64" = "float32"): string {
    this.inputs.push(valueInfo(name, type === "float32" ? FLOAT : INT64, dims));
    return name;
  }

  output(value: string, name: string, dims: Dim[]): void {
    this.nodes.push({ opType: "Identity", input: [value], output: [name], name: `out_${name}` });
    this.outputs.push(valueInfo(name, FLOAT, dims));
  }

  /** Declares `name`, written by a node of its own (`named`), a graph output: no Identity
   * copies it (a KV cache's present is the whole cache). */
  declareOutput(name: string, dims: Dim[], type: "float32" | "int64" = "float32"): void {
    this.outputs.push(valueInfo(name, type === "float32" ? FLOAT : INT64, dims));
  }

  /** A float initializer. */
  weight(name: string, data: Float32Array, dims: number[]): string {
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dataType: FLOAT, dims, rawData: raw });
    return name;
  }

  /** A float (or uint8) initializer left in a file (ONNX external data): onnxruntime reads it from
   * `location`, a name in the folder the session is told (runtime.ts `externalDir`), so the
   * weights never pass through JS or the serialized graph. */
  external(name: string, dims: number[], location: string, offset: number, type: "float32" | "uint8" = "float32"): string {
    const length = dims.reduce((a, b) => a * b, 1) * (type === "uint8" ? 1 : 4);
    const externalData = [
      { key: "location", value: location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(length) },
    ];
    this.initializers.push({ name, dataType: type === "uint8" ? UINT8 : FLOAT, dims, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData });
    return name;
  }

  /** A uint8 initializer (quantized weights). */
  bytes(name: string, data: Uint8Array, dims: number[]): string {
    this.initializers.push({ name, dataType: UINT8, dims, rawData: data });
    return name;
  }

  /** An int64 constant (cached by value). */
  i64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims}:${values}`;
    const hit = this.consts.get(key);
    if (hit !== undefined) return hit;
    const name = `c${this.consts.size}_i64`;
    const raw = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
    this.initializers.push({ name, dataType: INT64, dims, rawData: raw });
    this.consts.set(key, name);
    return name;
  }

  /** A float constant (cached by value). */
  f32(values: number[], dims: number[] = [values.length]): string {
    const key = `f32:${dims}:${values}`;
    const hit = this.consts.get(key);
    if (hit !== undefined) return hit;
    const name = `c${this.consts.size}_f32`;
    this.weight(name, new Float32Array(values), dims);
    this.consts.set(key, name);
    return name;
  }

  /** Adds a node; returns its (first) output. */
  op(opType: string, input: string[], attributes: IAttr[] = []): string {
    return this.opN(opType, input, 1, attributes)[0];
  }

  opN(opType: string, input: string[], n: number, attributes: IAttr[] = [], domain = ""): string[] {
    const id = this.counter++;
    const output = Array.from({ length: n }, (_, i) => `${opType.toLowerCase()}_${id}${n > 1 ? `_${i}` : ""}`);
    this.nodes.push({ opType, domain, input, output, name: `${opType}_${id}`, attribute: attributes });
    if (domain === MS_DOMAIN) this.usesMs = true;
    return output;
  }

  /** Adds a node whose outputs the caller names ("" leaves an optional output out). */
  named(opType: string, input: string[], output: string[], attributes: IAttr[] = [], domain = ""): string[] {
    this.nodes.push({ opType, domain, input, output, name: `${opType}_${this.counter++}`, attribute: attributes });
    if (domain === MS_DOMAIN) this.usesMs = true;
    return output;
  }

  /** Adds a com.microsoft node; returns its output. */
  msOp(opType: string, input: string[], attributes: IAttr[] = []): string {
    return this.opN(opType, input, 1, attributes, MS_DOMAIN)[0];
  }

  /** The serialized ModelProto. */
  build(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "efedllm",
      opsetImport: [{ domain: "", version: OPSET }, ...(this.usesMs ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
