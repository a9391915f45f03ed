// Moving values between host memory and a provider's device. onnxruntime-node has no call that uploads a buffer
// or downloads one (its WebGPU tensors' download() aborts the process), so each direction is a graph of Identity
// nodes: host feeds in and device outputs out, or the other way round.
import { GraphPort, OnnxGraph } from './graph.js';
import { createDeviceSession, DeviceSession, DeviceValue, PortData, SessionOptions } from './session.js';

export class DeviceTransfer {
  /** One Identity graph per direction and set of ports (the whole state, the VGG weights). */
  private readonly sessions = new Map<string, Promise<DeviceSession>>();

  constructor(private readonly options: SessionOptions) {}

  /** Copies `data` (one array per port, in the graph layout) to the device. */
  async toDevice(ports: readonly GraphPort[], data: readonly PortData[]): Promise<DeviceValue[]> {
    const session = await this.session('up', ports);
    const byName = new Map(ports.map((port, i) => [port.name, data[i]]));
    const { device } = await session.runKeeping((port) => byName.get(port.name));
    return ports.map((port) => device[copyName(port)]);
  }

  /** Copies device values (one per port) to new host arrays. */
  async toHost(ports: readonly GraphPort[], values: readonly DeviceValue[]): Promise<PortData[]> {
    const session = await this.session('down', ports);
    const byName = new Map(ports.map((port, i) => [port.name, values[i]]));
    const host = await session.run((port) => byName.get(port.name));
    return ports.map((port) => host[copyName(port)]);
  }

  release(): void {
    for (const session of this.sessions.values()) void session.then((s) => s.release());
    this.sessions.clear();
  }

  private session(direction: 'up' | 'down', ports: readonly GraphPort[]): Promise<DeviceSession> {
    const key = `${direction} ${ports.map((p) => `${p.name}:${p.dims}`).join(' ')}`;
    let session = this.sessions.get(key);
    if (!session) {
      const graph = new OnnxGraph();
      for (const port of ports) {
        graph.addInput(port);
        graph.addOutput({ ...port, name: copyName(port) }, port.name);
      }
      session = createDeviceSession(graph, this.options, () => direction === 'up');
      this.sessions.set(key, session);
    }
    return session;
  }
}

const copyName = (port: GraphPort) => `copy:${port.name}`;
