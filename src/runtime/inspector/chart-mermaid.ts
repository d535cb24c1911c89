/**
 * Mermaid `stateDiagram-v2` text of a {@link ChartModel} (GitHub renders it). Mermaid cannot draw
 * an edge between states of different composites, so such an edge is drawn between their
 * ancestors that share a parent; transitions declared on the machine itself start at
 * `any state`; actions-only transitions are listed in the state's description (atomic states)
 * or drawn as self-loops (composites).
 */
import {
  allStates,
  type ChartModel,
  type ChartState,
  type ChartTransition,
  transitionLabel,
} from './chart-model.js';

const ANY = '__any';

function mermaidId(state: ChartState): string {
  return state.path.map((k) => k.replace(/[^A-Za-z0-9_]/g, '_')).join('_');
}

/** Text that is safe after `:` in Mermaid (no line breaks, no `;`, no `#`). */
function safe(text: string): string {
  return text.replace(/[\r\n;#]+/g, ' ');
}

function details(state: ChartState): string[] {
  const lines: string[] = [];
  if (state.entry.length) lines.push(`entry / ${state.entry.join(', ')}`);
  if (state.exit.length) lines.push(`exit / ${state.exit.join(', ')}`);
  for (const src of state.invoke) lines.push(`invoke ${src}`);
  return lines;
}

/**
 * Renders the model as Mermaid.
 *
 * @example
 * const text = toMermaid(chartModel(connectionMachine)); // "stateDiagram-v2\n  direction LR\n..."
 */
export function toMermaid(model: ChartModel): string {
  const byId = new Map(allStates(model).map((s) => [s.id, s]));
  const parentOf = new Map<string, ChartState>();
  for (const s of byId.values()) for (const c of s.children) parentOf.set(c.id, s);
  const ancestors = (s: ChartState): ChartState[] => {
    const chain = [s];
    for (let p = parentOf.get(s.id); p; p = parentOf.get(p.id)) chain.unshift(p);
    return chain;
  };

  // Place each transition in the composite that holds both ends (their lowest common ancestor).
  const edgesIn = new Map<string, string[]>();
  const internal = new Map<string, string[]>();
  const push = (map: Map<string, string[]>, key: string, line: string): void => {
    const list = map.get(key) ?? [];
    list.push(line);
    map.set(key, list);
  };
  const usesAny = model.transitions.some((t) => t.source === model.root.id);
  for (const t of model.transitions) edgeFor(t);

  function edgeFor(t: ChartTransition): void {
    const source = byId.get(t.source)!;
    const label = safe(transitionLabel(t));
    if (t.targets.length === 0) {
      if (source.children.length === 0 && source !== model.root) {
        push(internal, source.id, label);
        return;
      }
    }
    for (const targetId of t.targets.length ? t.targets : [t.source]) {
      const target = byId.get(targetId)!;
      if (source === model.root) {
        const top = ancestors(target)[1] ?? target;
        push(edgesIn, model.root.id, `${ANY} --> ${mermaidId(top)}: ${label}`);
        continue;
      }
      const a = ancestors(source);
      const b = ancestors(target);
      let i = 0;
      while (i < a.length && i < b.length && a[i] === b[i]) i++;
      // When one end contains the other, the edge becomes a self-loop on the outer one.
      if (i === a.length || i === b.length) i = Math.min(a.length, b.length) - 1;
      const from = a[i]!;
      const to = b[i]!;
      const container = a[i - 1] ?? model.root;
      push(edgesIn, container.id, `${mermaidId(from)} --> ${mermaidId(to)}: ${label}`);
    }
  }

  const lines = ['stateDiagram-v2', '  direction LR'];
  const emit = (state: ChartState, indent: string): void => {
    if (state.type === 'parallel') {
      state.children.forEach((region, i) => {
        // Mermaid's region separator is only valid inside a composite.
        if (i > 0 && state !== model.root) lines.push(`${indent}--`);
        emitState(region, indent);
      });
    } else if (state.initial) {
      lines.push(`${indent}[*] --> ${mermaidId(byId.get(state.initial)!)}`);
      for (const child of state.children) emitState(child, indent);
    } else {
      for (const child of state.children) emitState(child, indent);
    }
    for (const edge of edgesIn.get(state.id) ?? []) lines.push(`${indent}${edge}`);
  };
  const emitState = (state: ChartState, indent: string): void => {
    const id = mermaidId(state);
    if (state.children.length > 0) {
      lines.push(`${indent}state ${id} {`);
      emit(state, `${indent}  `);
      lines.push(`${indent}}`);
    } else {
      lines.push(`${indent}state "${state.key}" as ${id}`);
      for (const d of [...details(state), ...(internal.get(state.id) ?? [])]) {
        lines.push(`${indent}${id} : ${safe(d)}`);
      }
    }
    if (state.type === 'final') lines.push(`${indent}${id} --> [*]`);
  };
  if (usesAny) lines.push(`  state "any state" as ${ANY}`);
  emit(model.root, '  ');
  return `${lines.join('\n')}\n`;
}
