/**
 * The autograd graph. Each op that sees an input requiring a gradient records
 * a Node on its output: the backward function, the tensors it saved (its own
 * views, independent of the caller's dispose/tidy), and edges to the nodes or
 * leaf tensors of its inputs. Nodes are reference-counted by the tensors and
 * nodes that point at them, so a graph nobody can reach any more frees its
 * saved tensors at once, and backward() frees them after use.
 */
import { isolated, tidy } from '../engine';
import { fail } from '../errors';
import type { Tensor } from '../tensor';

export type BackwardFn = (gy: Tensor, saved: Tensor[]) => (Tensor | null)[];

type Edge = { node: Node } | { leaf: Tensor } | null;

export class Node {
  refs = 0;
  freed = false;
  constructor(
    readonly name: string,
    readonly edges: Edge[],
    readonly backwardFn: BackwardFn,
    public saved: Tensor[],
  ) {
    for (const e of edges) if (e && 'node' in e) e.node.retain();
  }

  retain(): void {
    this.refs += 1;
  }

  /** Drops one reference; a node nobody refers to frees its tensors and releases its inputs (iteratively: graphs can be long). */
  release(): void {
    const stack: Node[] = [this];
    while (stack.length) {
      const node = stack.pop()!;
      node.refs -= 1;
      if (node.refs > 0) continue;
      node.freeSaved();
      for (const e of node.edges) if (e && 'node' in e) stack.push(e.node);
    }
  }

  freeSaved(): void {
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.freed = true;
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording gradients (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** @internal Runs fn with gradient recording on, whatever the caller's mode (torch.enable_grad()). */
export function withGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * @internal The leaf tensors with requiresGrad that `root`'s graph reaches
 * (root itself when it is one), each once: the parameters a function of a
 * tensor closed over.
 */
export function graphLeaves(root: Tensor): Tensor[] {
  if (!root.gradFn) return root.requiresGrad ? [root] : [];
  const leaves = new Set<Tensor>();
  const seen = new Set<Node>([root.gradFn]);
  const stack: Node[] = [root.gradFn];
  while (stack.length) {
    const node = stack.pop()!;
    for (const e of node.edges) {
      if (!e) continue;
      if ('leaf' in e) leaves.add(e.leaf);
      else if (!seen.has(e.node)) {
        seen.add(e.node);
        stack.push(e.node);
      }
    }
  }
  return [...leaves];
}

/** @internal True when t takes part in gradient computation. */
export function needsGrad(t: Tensor): boolean {
  return t.requiresGrad;
}

/**
 * @internal Records a node on `out` if grad mode is on and any input needs a
 * gradient. `save` lists tensors backward needs; they are kept as views.
 */
export function record(out: Tensor, name: string, inputs: Tensor[], backwardFn: BackwardFn, save: Tensor[] = []): Tensor {
  if (!gradEnabled || !inputs.some(needsGrad)) return out;
  const edges: Edge[] = inputs.map((t) => {
    if (!t.requiresGrad) return null;
    return t.gradFn ? { node: t.gradFn } : { leaf: t };
  });
  const saved = isolated(() => save.map((t) => t.view()));
  const node = new Node(name, edges, backwardFn, saved);
  out.attachGradFn(node);
  return out;
}

/**
 * Reverse-mode pass from `root` (see Tensor.backward). Accumulates into the
 * .grad of leaf tensors with requiresGrad. Frees the graph's saved tensors
 * unless retainGraph.
 */
export function runBackward(root: Tensor, gradient: Tensor, retainGraph: boolean): void {
  const start = root.gradFn;
  if (!start) {
    // A leaf: its gradient is the seed itself.
    isolated(() => accumulate(root, gradient.clone()));
    return;
  }
  // Topological order by DFS (iterative, so long chains do not overflow the stack).
  const order: Node[] = [];
  const visited = new Set<Node>();
  const stack: [Node, number][] = [[start, 0]];
  visited.add(start);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.edges.length) {
      top[1] += 1;
      const e = node.edges[i];
      if (e && 'node' in e && !visited.has(e.node)) {
        visited.add(e.node);
        stack.push([e.node, 0]);
      }
    } else {
      order.push(node);
      stack.pop();
    }
  }
  for (const n of order)
    if (n.freed)
      fail(
        'INVALID_ARGUMENT',
        `backward: the graph through '${n.name}' was already freed by an earlier backward(); pass {retainGraph: true} to the first call to run backward twice`,
      );
  isolated(() =>
    noGrad(() => {
      const grads = new Map<Node, Tensor>();
      grads.set(start, gradient.clone());
      for (let k = order.length - 1; k >= 0; k--) {
        const node = order[k];
        const gy = grads.get(node);
        grads.delete(node);
        if (!gy) continue;
        // Temporaries of the backward function are freed; a gradient that is gy
        // itself, or returned twice, is copied so each edge owns its tensor.
        const raw = tidy(() => node.backwardFn(gy, node.saved));
        const owned = new Set<Tensor>();
        const inGrads = raw.map((g) => {
          if (!g) return null;
          if (g === gy || owned.has(g)) return g.clone();
          owned.add(g);
          return g;
        });
        gy.dispose();
        node.edges.forEach((e, i) => {
          const g = inGrads[i];
          if (!g) return;
          if (!e) return g.dispose();
          if ('leaf' in e) return accumulate(e.leaf, g);
          const prev = grads.get(e.node);
          if (prev) {
            grads.set(e.node, prev.add(g));
            prev.dispose();
            g.dispose();
          } else grads.set(e.node, g);
        });
      }
      for (const g of grads.values()) g.dispose();
    }),
  );
  if (!retainGraph) for (const n of order) n.freeSaved();
}

function accumulate(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) return g.dispose();
  const shaped = g.shape.length === leaf.shape.length && g.shape.every((d, i) => d === leaf.shape[i]) ? g : reshapeOwned(g, leaf.shape);
  if (leaf.grad && !leaf.grad.isDisposed) {
    const sum = leaf.grad.add(shaped);
    leaf.grad.dispose();
    shaped.dispose();
    leaf.grad = sum;
  } else leaf.grad = shaped;
}

function reshapeOwned(g: Tensor, shape: readonly number[]): Tensor {
  const r = g.reshape(shape);
  g.dispose();
  return r;
}
