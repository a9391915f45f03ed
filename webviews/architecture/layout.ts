// Lays out the architecture graph with ELK's layered algorithm: groups are compound nodes (so the generator's
// encoders, MLP and decoder, and each discriminator scale, are boxes around their layers), a collapsed group is one
// box, and edges into a collapsed group end at that box. elk.bundled.js runs in the page itself: no worker, no eval.
import ELK, { type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { ArchitectureGraph, GraphEdge, GraphGroup, GraphNode } from '../../server/protocol.js';
import { formatCount, formatShape } from '../shared/format.js';

export interface Point {
  x: number;
  y: number;
}

export interface Box extends Point {
  width: number;
  height: number;
}

export interface PlacedNode extends Box {
  node: GraphNode;
  lines: [string, string, string];
}

export interface PlacedGroup extends Box {
  group: GraphGroup;
  collapsed: boolean;
  /** Title first, then the note wrapped. */
  lines: string[];
  headerHeight: number;
}

export interface PlacedEdge {
  kind: GraphEdge['kind'];
  size?: number;
  points: Point[];
}

export interface Layout {
  nodes: PlacedNode[];
  groups: PlacedGroup[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

/** Text metrics of the panel's 12px font, close enough for box sizes without measuring in the DOM. */
export const CHAR_WIDTH = 6.8;
export const LINE_HEIGHT = 15;
const PADDING = 10;
const NOTE_CHARS = 44;
const NODE_HEIGHT = 3 * LINE_HEIGHT + 2 * 6;

const elk = new ELK();

const normNames: Record<GraphNode['norm'], string> = {
  none: 'no norm',
  in: 'instance norm',
  adain: 'AdaIN',
  ln: 'LayerNorm',
  bn: 'batch norm',
};

function nodeLines(node: GraphNode): [string, string, string] {
  const params = node.parameters > 0 ? ` · ${formatCount(node.parameters)} params` : '';
  const norm = [normNames[node.norm], node.activation].filter(Boolean).join(' · ');
  return [node.label, `${formatShape(node.outputShape)}${params}`, norm];
}

function groupLines(group: GraphGroup, collapsed: boolean): string[] {
  const title = `${collapsed ? '▸' : '▾'} ${group.label} · ${formatCount(group.parameters)} params`;
  return [title, ...wrap(group.note ?? '', NOTE_CHARS)];
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

function textWidth(lines: readonly string[]): number {
  return Math.max(...lines.map((l) => l.length)) * CHAR_WIDTH + 2 * PADDING;
}

export async function layoutGraph(graph: ArchitectureGraph, collapsed: ReadonlySet<string>): Promise<Layout> {
  const groups = new Map(graph.groups.map((g) => [g.id, g]));
  const ancestors = (groupId: string | undefined): GraphGroup[] => {
    const chain: GraphGroup[] = [];
    for (let g = groupId ? groups.get(groupId) : undefined; g; g = g.parent ? groups.get(g.parent) : undefined) chain.unshift(g);
    return chain;
  };
  /** The box that stands for a group or node: its outermost collapsed group, else itself. */
  const shownAs = (id: string, groupChain: GraphGroup[]) => groupChain.find((g) => collapsed.has(g.id))?.id ?? id;

  const root: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '28',
      'elk.spacing.nodeNode': '18',
      'elk.spacing.componentComponent': '40',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
    },
    children: [],
    edges: [],
  };
  const elkNodes = new Map<string, ElkNode>([['root', root]]);
  const placedGroups = new Map<string, { group: GraphGroup; collapsed: boolean; lines: string[]; headerHeight: number }>();
  const placedNodes = new Map<string, { node: GraphNode; lines: [string, string, string] }>();
  const container = (parent: string | undefined) => elkNodes.get(parent ?? 'root')!.children!;

  // graph.groups does not promise parents first, so groups are visited by depth.
  for (const group of [...graph.groups].sort((a, b) => ancestors(a.id).length - ancestors(b.id).length)) {
    const chain = ancestors(group.id);
    if (shownAs(group.id, chain.slice(0, -1)) !== group.id) continue; // inside a collapsed group
    const isCollapsed = collapsed.has(group.id);
    const lines = groupLines(group, isCollapsed);
    const headerHeight = lines.length * LINE_HEIGHT + PADDING;
    const elkNode: ElkNode = isCollapsed
      ? { id: group.id, width: textWidth(lines), height: headerHeight + PADDING }
      : {
          id: group.id,
          children: [],
          layoutOptions: {
            'elk.padding': `[top=${headerHeight + PADDING},left=${PADDING},bottom=${PADDING},right=${PADDING}]`,
            'elk.nodeSize.constraints': 'MINIMUM_SIZE',
            'elk.nodeSize.minimum': `(${textWidth(lines)}, ${headerHeight + 2 * PADDING})`,
          },
        };
    elkNodes.set(group.id, elkNode);
    container(group.parent).push(elkNode);
    placedGroups.set(group.id, { group, collapsed: isCollapsed, lines, headerHeight });
  }
  for (const node of graph.nodes) {
    if (shownAs(node.id, ancestors(node.group)) !== node.id) continue;
    const lines = nodeLines(node);
    container(node.group).push({ id: node.id, width: textWidth(lines), height: NODE_HEIGHT });
    placedNodes.set(node.id, { node, lines });
  }

  const endpoints = new Map(graph.nodes.map((n) => [n.id, shownAs(n.id, ancestors(n.group))]));
  const edgeInfo = new Map<string, GraphEdge>();
  for (const edge of graph.edges) {
    const from = endpoints.get(edge.from)!;
    const to = endpoints.get(edge.to)!;
    const id = `${edge.kind}:${from}->${to}`;
    if (from === to || edgeInfo.has(id)) continue; // inside one collapsed group, or already drawn
    edgeInfo.set(id, edge);
    root.edges!.push({ id, sources: [from], targets: [to] });
  }

  const result = await elk.layout(root);
  const flat: ElkNode[] = [];
  const visit = (n: ElkNode) => {
    flat.push(n);
    n.children?.forEach(visit);
  };
  visit(result);
  const box = (n: ElkNode): Box => ({ x: n.x ?? 0, y: n.y ?? 0, width: n.width ?? 0, height: n.height ?? 0 });
  const nodes: PlacedNode[] = [];
  const groupsOut: PlacedGroup[] = [];
  for (const n of flat) {
    const node = placedNodes.get(n.id);
    if (node) nodes.push({ ...box(n), ...node });
    const group = placedGroups.get(n.id);
    if (group) groupsOut.push({ ...box(n), ...group });
  }
  const edges = (result.edges ?? []).map((e: ElkExtendedEdge) => {
    const info = edgeInfo.get(e.id)!;
    const points = (e.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    return { kind: info.kind, size: info.size, points };
  });
  return { nodes, groups: groupsOut, edges, width: result.width ?? 0, height: result.height ?? 0 };
}
