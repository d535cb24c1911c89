/**
 * Graphviz DOT text of a {@link ChartModel}. Atomic states are boxes, compound and parallel states
 * clusters (parallel regions dashed). Every state's SVG group gets the id `state:<state node id>`
 * so a page can highlight the active states. Edges carry `EVENT [guard] / actions`; actions-only
 * transitions, entry/exit actions and invoked actors are listed inside the state's box.
 */
import { allStates, type ChartModel, type ChartState, transitionLabel } from './chart-model.js';

const FONT = 'Helvetica';

/** A quoted DOT id. */
function q(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Text for an HTML-like label. */
function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The DOT node an edge attaches to for a state (compound states: a point inside their cluster). */
function anchorOf(state: ChartState): string {
  return state.children.length > 0 ? `__anchor__${state.id}` : state.id;
}

function stateLabel(state: ChartState, internal: string[]): string {
  const lines: string[] = [];
  if (state.entry.length) lines.push(`entry / ${state.entry.join(', ')}`);
  if (state.exit.length) lines.push(`exit / ${state.exit.join(', ')}`);
  for (const src of state.invoke) lines.push(`invoke ${src}`);
  lines.push(...internal);
  const rows = lines
    .map((l) => `<tr><td align="left"><font point-size="9" color="#4a5568">${html(l)}</font></td></tr>`)
    .join('');
  return `<<table border="0" cellborder="0" cellspacing="0" cellpadding="1"><tr><td><b>${html(state.key)}</b></td></tr>${rows}</table>>`;
}

/** Layout direction: left to right, or top to bottom (narrower for long chains of states). */
export type ChartDirection = 'LR' | 'TB';

/**
 * An edge label's lines: the actions after ` / ` and each further action on a line of its own, so
 * a transition with many actions grows down, not across the page.
 */
function labelLines(label: string): string[] {
  const slash = label.indexOf(' / ');
  if (slash < 0) return [label];
  const actions = label.slice(slash + 3).split(', ');
  return [
    label.slice(0, slash),
    ...actions.map((a, i) => `${i === 0 ? '  / ' : '    '}${a}${i < actions.length - 1 ? ',' : ''}`),
  ];
}

/**
 * Renders the model as DOT (lay it out with Graphviz `dot`).
 *
 * @example
 * const svg = graphviz.dot(toDot(chartModel(connectionMachine)));
 */
export function toDot(model: ChartModel, direction: ChartDirection = 'LR'): string {
  const states = allStates(model);
  const byId = new Map(states.map((s) => [s.id, s]));
  const parentOf = new Map<string, string>();
  for (const s of states) for (const c of s.children) parentOf.set(c.id, s.id);
  const contains = (outer: string, inner: string): boolean => {
    for (let p: string | undefined = inner; p; p = parentOf.get(p)) if (p === outer) return true;
    return false;
  };
  const internal = new Map<string, string[]>();
  for (const t of model.transitions) {
    if (t.targets.length > 0 || t.source === model.root.id) continue;
    const list = internal.get(t.source) ?? [];
    list.push(transitionLabel(t));
    internal.set(t.source, list);
  }

  const out: string[] = [
    `digraph ${q(model.id)} {`,
    `  graph [rankdir=${direction}, compound=true, fontname=${q(FONT)}, fontsize=12, nodesep=0.35, ranksep=0.55, pad=0.2, id=${q(`machine:${model.id}`)}, label=<<b>${html(model.id)}</b>>, labelloc=t];`,
    `  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#4a5568", fontname=${q(FONT)}, fontsize=11, margin="0.12,0.06"];`,
    `  edge [fontname=${q(FONT)}, fontsize=9, color="#718096", fontcolor="#2d3748", arrowsize=0.7];`,
  ];
  const emitChildren = (state: ChartState, indent: string): void => {
    if (state.children.length === 0) return;
    const anchor = anchorOf(state);
    if (state !== model.root || state.initial) {
      const visible = state.initial !== undefined;
      out.push(
        `${indent}${q(anchor)} [shape=point, width=${visible ? '0.1' : '0.01'}, label="", ${visible ? 'color="#2d3748"' : 'style=invis'}];`,
      );
      if (state.initial) {
        out.push(`${indent}${q(anchor)} -> ${q(anchorOf(byId.get(state.initial)!))} [arrowsize=0.5];`);
      }
    }
    for (const child of state.children) emitState(child, indent, state.type === 'parallel');
  };
  const emitState = (state: ChartState, indent: string, region: boolean): void => {
    const label = stateLabel(state, internal.get(state.id) ?? []);
    if (state.children.length === 0) {
      const final = state.type === 'final' ? ', peripheries=2' : '';
      out.push(`${indent}${q(state.id)} [id=${q(`state:${state.id}`)}, label=${label}${final}];`);
      return;
    }
    out.push(`${indent}subgraph ${q(`cluster_${state.id}`)} {`);
    out.push(
      `${indent}  id=${q(`state:${state.id}`)}; label=${label}; labeljust=l; style="rounded${region ? ',dashed' : ''},filled"; fillcolor="#f7fafc"; color="#4a5568";`,
    );
    emitChildren(state, `${indent}  `);
    out.push(`${indent}}`);
  };
  emitChildren(model.root, '  ');

  const rootTransitions = model.transitions.some((t) => t.source === model.root.id && t.targets.length > 0);
  if (rootTransitions) {
    out.push(
      `  "__any__" [label="any state", shape=box, style="rounded,dashed", color="#a0aec0", fontcolor="#4a5568"];`,
    );
  }
  // Parallel edges between the same two ends become one edge with one label line per transition.
  const edges = new Map<string, { from: string; to: string; attrs: string[]; labels: string[] }>();
  for (const t of model.transitions) {
    if (t.targets.length === 0) continue;
    const fromRoot = t.source === model.root.id;
    const source = byId.get(t.source)!;
    for (const targetId of t.targets) {
      const target = byId.get(targetId)!;
      const attrs: string[] = [];
      if (!fromRoot && source.children.length > 0 && !contains(source.id, target.id)) {
        attrs.push(`ltail=${q(`cluster_${source.id}`)}`);
      }
      if (target.children.length > 0 && !contains(target.id, source.id)) {
        attrs.push(`lhead=${q(`cluster_${target.id}`)}`);
      }
      if (t.reenter && source === target) attrs.push('style=dashed');
      const from = fromRoot ? '__any__' : anchorOf(source);
      const to = anchorOf(target);
      const key = `${from}\u0000${to}\u0000${attrs.join(',')}`;
      const edge = edges.get(key) ?? { from, to, attrs, labels: [] };
      edge.labels.push(transitionLabel(t));
      edges.set(key, edge);
    }
  }
  for (const e of edges.values()) {
    const label = e.labels
      .flatMap(labelLines)
      .map((l) => `${q(l).slice(1, -1)}\\l`)
      .join('');
    out.push(`  ${q(e.from)} -> ${q(e.to)} [${[`label="${label}"`, ...e.attrs].join(', ')}];`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
