/**
 * The autograd graph. Each op that sees an input requiring a gradient records
 * a Node on its output: the backward function, the tensors it saved (its own
 * views, independent of the caller's dispose/tidy), and edges to the nodes or
 * leaf tensors of its inputs. Nodes are reference-counted by the tensors and
 * nodes that point at them, so a graph nobody can reach any more frees its
 * saved tensors at once, and backward() frees them after use.
 */
import { isolated, isThenable, tidy } from '../engine';
import type { NotPromise } from '../engine';
import { fail } from '../errors';
import { addScaledInPlace, native } from '../native';
import { describe } from '../validate';
import type { Tensor } from '../tensor';

/**
 * A recorded op's backward: one gradient per edge (null for none) from the
 * upstream gradient gy and the saved tensors. `needs[i]` says whether edge i
 * takes a gradient at all (its input requires one); a backward may skip the
 * work for the others and return null there.
 */
export type BackwardFn = (gy: Tensor, saved: Tensor[], needs: readonly boolean[]) => (Tensor | null)[];

/** @internal Where a gradient goes: the node of an op's result, a leaf tensor, or nowhere. */
export type Edge = { node: Node } | { leaf: Tensor } | null;

let nodeCount = 0;

/** @internal In Node.savedEdges: the saved view is the op's own output, whose gradient goes to the node itself. */
export const SELF = 'self';

/**
 * @internal In Node.savedEdges: the saved view is another output of the same
 * op (one the caller never sees, such as the SRU's state at every step),
 * whose gradient goes to the op's inputs through `backward` (over the same
 * saved values). A graph-building pass connects it through a node made then.
 */
export interface SiblingOutput {
  name: string;
  backward: BackwardFn;
}

/** @internal The number of nodes made so far: nodes with seq below it existed before. */
export function nodeMark(): number {
  return nodeCount;
}

export class Node {
  refs = 0;
  freed = false;
  /** Creation order (see nodeMark). */
  readonly seq = ++nodeCount;
  /** The edge to this node, made once and shared by every op that consumes its result. */
  readonly edge: { node: Node } = { node: this };
  /** How many of `saved` (the first) are views of the op's inputs or output, and the sum of their storages' versions then. */
  savedViews = 0;
  versions = 0;
  /**
   * Whether backwardFn is itself differentiable: run with recording on
   * (backward with createGraph), it builds its gradients from recorded ops
   * only, so a second backward through them is exact. Such a node also
   * knows where each saved view came from (`savedEdges`, one per view: the
   * edge of the input it is, SELF for the op's own output, null for a
   * constant such as labels or a mask), so that the saved values take part
   * in the new graph as PyTorch's SavedVariables do.
   */
  double = false;
  savedEdges: (Edge | typeof SELF | SiblingOutput)[] = [];
  /**
   * Whether the differentiable backward costs far more than the plain one
   * (GRU/LSTM/RNN: one recorded step per time step): a withCreateGraph()
   * scope that prefers cheap passes (AdaHessian's 'auto') builds no graph
   * through it.
   */
  costly = false;
  /** Hooks on the tensor this node made (Tensor.registerHook), run in order on its gradient before the node's backward. */
  hooks: GradHook[] | null = null;
  /** The non-leaf tensor this node made, when it retains its gradient (Tensor.retainGrad). */
  retained: Tensor | null = null;
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

  /**
   * Frees what the node saved. Only a node that saved something is then
   * "freed" for a later backward: one that saved nothing (add, sum, a
   * reshape) can run again, as in PyTorch.
   */
  freeSaved(): void {
    if (this.saved.length === 0) return;
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.freed = true;
  }
}

let gradEnabled = true;

/** A gradient hook (Tensor.registerHook): undefined keeps the gradient, a Tensor of its shape and dtype replaces it. */
export type GradHook = (grad: Tensor) => Tensor | void;

/** Hooks on leaf tensors (run on a leaf's summed gradient before it reaches .grad, or autograd.grad's result). */
const leafHooks = new WeakMap<Tensor, GradHook[]>();
/** Whether any leaf ever had a hook list (backward() skips the per-leaf lookups until one does). */
let anyLeafHooks = false;

/** @internal The hook list of t (its node's, or the leaf's), made on first use. */
export function hookList(t: Tensor): GradHook[] {
  if (t.gradFn) return (t.gradFn.hooks ??= []);
  let list = leafHooks.get(t);
  if (!list) {
    leafHooks.set(t, (list = []));
    anyLeafHooks = true;
  }
  return list;
}

/**
 * g (owned) after the hooks in order: each gets the current gradient; one
 * that returns a Tensor replaces it (its shape and dtype must be g's, as
 * PyTorch checks; the hook's result is copied, so a hook may return a
 * tensor it keeps, or the gradient it was given).
 */
function runHooks(hooks: readonly GradHook[] | null | undefined, g: Tensor, what: () => string): Tensor {
  if (!hooks || hooks.length === 0) return g;
  // (Tensor is a type-only import here: the class is the gradient's own.)
  const isTensor = (v: unknown): v is Tensor => v instanceof (g.constructor as new () => Tensor);
  for (const hook of [...hooks]) {
    const current = g;
    let next: Tensor | null;
    try {
      // What the hook makes is freed with this scope; a replacement is copied out of it.
      next = tidy(() => {
        const r: unknown = hook(current);
        if ((r === undefined || r === null || r === current) && current.isDisposed)
          fail('DISPOSED', `backward: a hook on ${what()} disposed the gradient it was given (the pass still needs it); return a new Tensor instead, or leave the gradient alone`);
        if (r === undefined || r === null || r === current) return null;
        if (!isTensor(r) || r.isDisposed || r.dtype !== current.dtype || r.device !== current.device || r.shape.length !== current.shape.length || r.shape.some((d, i) => d !== current.shape[i]))
          fail(
            'INVALID_ARGUMENT',
            `backward: a hook on ${what()} returned ${isTensor(r) ? (r.isDisposed ? 'a disposed Tensor' : `a ${r.dtype} Tensor of shape [${r.shape.join(', ')}] on ${r.device}`) : describe(r)}; expected undefined or a Tensor like the gradient (${current.dtype}, shape [${current.shape.join(', ')}], on ${current.device})`,
          );
        return r.clone();
      });
    } catch (err) {
      current.dispose();
      throw err;
    }
    if (next) {
      current.dispose();
      g = next;
    }
  }
  return g;
}

/** runHooks for a leaf's gradient (hooks registered with Tensor.registerHook on the leaf). */
export function runLeafHooks(leaf: Tensor, g: Tensor): Tensor {
  return runHooks(leafHooks.get(leaf), g, () => `a leaf of shape [${leaf.shape.join(', ')}]`);
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording gradients (like torch.no_grad()). */
export function noGrad<T>(fn: () => NotPromise<T>): T {
  if (typeof fn !== 'function') fail('INVALID_ARGUMENT', `noGrad: expected a function to run; got ${fn === null ? 'null' : typeof fn}`);
  const prev = gradEnabled;
  gradEnabled = false;
  let result: T;
  try {
    result = fn();
  } finally {
    gradEnabled = prev;
  }
  // Recording is back on when fn returns, so what an async fn runs after its first await would be
  // recorded: refused, as tidy() refuses one.
  if (isThenable(result)) {
    // Its later rejection is the caller's to see through this error, not an unhandled rejection.
    Promise.resolve(result).catch(() => undefined);
    fail('INVALID_ARGUMENT', 'noGrad: the function returned a Promise; noGrad() only takes synchronous functions (the code after an await would record gradients)');
  }
  return result;
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
 * @internal Where the graph of `root` leaves what was made after `mark`
 * (nodeMark() before the call that made root): the leaf tensors with
 * requiresGrad it reaches and the nodes made before `mark` (results of
 * earlier ops, captured from outside), each once, leaves in `exclude` left
 * out. These are the inputs of a recorded op that computes root inside its
 * own forward (see gradients()).
 */
export function graphBoundary(root: Tensor, mark: number, exclude: readonly Tensor[] = []): Edge[] {
  const out: Edge[] = [];
  const skip = new Set<Tensor>(exclude);
  const seenLeaves = new Set<Tensor>();
  const seenNodes = new Set<Node>();
  const visit = (e: Edge, stack: Node[]) => {
    if (!e) return;
    if ('leaf' in e) {
      if (!skip.has(e.leaf) && !seenLeaves.has(e.leaf)) {
        seenLeaves.add(e.leaf);
        out.push(e);
      }
    } else if (!seenNodes.has(e.node)) {
      seenNodes.add(e.node);
      if (e.node.seq <= mark) out.push(e);
      else stack.push(e.node);
    }
  };
  const stack: Node[] = [];
  visit(root.gradFn ? { node: root.gradFn } : root.requiresGrad ? { leaf: root } : null, stack);
  while (stack.length) for (const e of stack.pop()!.edges) visit(e, stack);
  return out;
}

/**
 * @internal What assign(dst ← src) means to autograd, as PyTorch's copy_:
 * with recording on, a result of recorded ops (dst has a node) or a plain
 * tensor given a src that requires grad now holds src's values, so its
 * gradient goes to src (an 'assign' node); the overwritten values' graph gets
 * none (PyTorch sends it zeros), and a constant written over a result leaves
 * it requiring grad with no gradient to pass. A leaf with requiresGrad (a
 * parameter) is left as it is: the write is not recorded (optimizers,
 * loadStateDict() and nn.init write parameters so; PyTorch raises there
 * unless under no_grad). Under noGrad() nothing changes, as PyTorch's no_grad
 * keeps the old history. Checked before the write (null: nothing to record);
 * the returned function records it after. A dst whose storage other tensors
 * share (a reshape or detach() of it, or what it is a view of) is refused:
 * their graphs would not see the write, and antler does not track views as
 * PyTorch does.
 */
export function assignRecorder(dst: Tensor, src: Tensor, dstIsPlainLeaf: boolean): (() => void) | null {
  if (!gradEnabled) return null;
  const old = dst.gradFn;
  if (old === null && !(dstIsPlainLeaf && src.requiresGrad)) return null;
  const users = native().storageUsers?.(dst.handle) ?? 1;
  if (users > 1)
    fail(
      'INVALID_ARGUMENT',
      `assign: the tensor written (shape [${dst.shape.join(', ')}]) shares its storage with ${users - 1} other tensor${users > 2 ? 's' : ''} (a reshape or detach() of it, or the tensor it was reshaped from), whose gradients would not see the write; ` +
        'dispose those views first, assign into a clone(), or write under noGrad() (unrecorded)',
    );
  return () => {
    // src's edge first: src may be dst itself (or made from it), whose old node the new one then keeps.
    const edge = edgeOf(src);
    const device = src.device, dtype = src.dtype;
    dst.gradFn = null;
    // Both are differentiable (a move and a cast are recorded ops; no gradient is none).
    if (edge) markDouble(recordEdges(dst, 'assign', [edge], (gy) => [gy.device === device && gy.dtype === dtype ? gy : gy.to(device).cast(dtype as 'float32' | 'float64')]));
    else if (old) markDouble(recordEdges(dst, 'assign', [old.edge], () => [null]));
    // retainGrad() survives the write, as PyTorch's (1.13 and 2.x) retains_grad does: .grad is the new values' gradient.
    const now = dst.gradFn as Node | null; // (recordEdges set it; TS narrowed it to null above)
    if (old && old.retained === dst) {
      old.retained = null;
      if (now) now.retained = dst;
    }
    old?.release();
  };
}

/** @internal True when t takes part in gradient computation. */
export function needsGrad(t: Tensor): boolean {
  return t.requiresGrad;
}

/**
 * @internal Records a node on `out` if grad mode is on and any input needs a
 * gradient. `save` lists tensors backward needs; they are kept as views.
 * `double`: backwardFn is differentiable (see Node.double); a map instead
 * says so too and names the saved tensors that are other outputs of the op
 * (SiblingOutput; such an op saves no `out`).
 */
export function record(
  out: Tensor, name: string, inputs: readonly Tensor[], backwardFn: BackwardFn, save: Tensor[] = [],
  double: boolean | ReadonlyMap<Tensor, SiblingOutput> = false,
): Tensor {
  if (!gradEnabled || !inputs.some(needsGrad)) return out;
  const edges = inputs.map(edgeOf);
  const r = recordEdges(out, name, edges, backwardFn, save);
  if (double !== false && r.gradFn) {
    if (double !== true && save.includes(out)) fail('INTERNAL', `${name}: an op with sibling outputs saved its own output`);
    const node = r.gradFn;
    node.double = true;
    // Where each saved view came from: an input (its edge; the node already holds it), the output,
    // another output of the op, or a constant.
    node.savedEdges = save.map((t) => {
      const i = inputs.indexOf(t);
      if (i >= 0) return edges[i];
      if (t === out) return SELF;
      return double === true ? null : double.get(t) ?? null;
    });
  }
  return r;
}

/** @internal Marks out's node (just recorded by recordEdges) as having a differentiable backward whose saved views are constants. */
export function markDouble(out: Tensor): Tensor {
  if (out.gradFn) out.gradFn.double = true;
  return out;
}

/** @internal Where the gradient of t goes (null when t needs none). */
export function edgeOf(t: Tensor): Edge {
  if (!t.requiresGrad) return null;
  return t.gradFn ? t.gradFn.edge : (t.leafEdge ??= { leaf: t });
}

/**
 * @internal record() with the edges given (graphBoundary's); backwardFn
 * returns one gradient per edge. `own` are tensors the node keeps as they are
 * (with their own graphs) and disposes when it frees its saved tensors; they
 * follow the views of `save` in backwardFn's `saved`.
 */
export function recordEdges(out: Tensor, name: string, edges: Edge[], backwardFn: BackwardFn, save: Tensor[] = [], own: Tensor[] = []): Tensor {
  if (!gradEnabled || !edges.some((e) => e !== null)) return out;
  const saved = isolated(() => save.map((t) => t.sharedAlias()));
  const node = new Node(name, edges, backwardFn, [...saved, ...own]);
  if (saved.length) {
    node.savedViews = saved.length;
    node.versions = versionSum(saved, saved.length);
  }
  out.attachGradFn(node);
  return out;
}

/** The sum of the storage versions of ts[0 … k−1] (one native call; versions only grow). */
function versionSum(ts: readonly Tensor[], k: number): number {
  const n = native();
  if (n.versionSum === undefined) return 0; // an addon built before versions: nothing to compare
  if (k === 1) return n.versionSum(ts[0].handle);
  if (k === 2) return n.versionSum(ts[0].handle, ts[1].handle);
  if (k === 3) return n.versionSum(ts[0].handle, ts[1].handle, ts[2].handle);
  return n.versionSum(...ts.slice(0, k).map((t) => t.handle));
}

/**
 * Throws before any backward function runs when a tensor some node of
 * `order` saved was written in place after it was saved (assign(), an
 * optimizer step, loadStateDict()): its gradient would silently use the new
 * values. PyTorch's "modified by an inplace operation".
 */
function checkVersions(order: readonly Node[]): void {
  for (const node of order) {
    if (node.savedViews === 0 || versionSum(node.saved, node.savedViews) === node.versions) continue;
    const what = node.saved.slice(0, node.savedViews).map((t) => `[${t.shape.join(', ')}] ${t.dtype}`).join(', ');
    fail(
      'MODIFIED_IN_PLACE',
      `backward: a tensor that '${node.name}' saved for its gradient (${what}) was modified in place after it was used (by assign(), an optimizer step or loadStateDict()); ` +
        'its gradient would use the new values. Run the forward pass again after the change, or change a clone() instead',
    );
  }
}

/**
 * Reverse-mode pass from `root` (see Tensor.backward), taking ownership of
 * `gradient` (the seed, made by the caller for this pass). Accumulates into
 * the .grad of leaf tensors with requiresGrad. Frees the graph's saved
 * tensors unless retainGraph.
 */
export function runBackward(root: Tensor, gradient: Tensor, retainGraph: boolean, createGraph = false): void {
  const start = root.gradFn;
  if (!start) {
    // A leaf: its gradient is the seed itself, after the leaf's hooks (PyTorch runs them on the root too).
    isolated(() => accumulate(root, leafHooks.get(root)?.length ? (createGraph ? withGrad : noGrad)(() => runLeafHooks(root, gradient)) : gradient, false));
    return;
  }
  const order = topologicalOrder(start, () => true);
  if (!createGraph && createGraphScope > 0) {
    const blockers = doubleBlockersOf(order, scopeCheap);
    for (const b of blockers) scopeBlockers.add(b);
    createGraph = blockers.length === 0;
  }
  if (createGraphScope > 0) {
    scopeBackwards += 1;
    if (createGraph) scopeGraphs += 1;
  }
  const scoped = createGraph && createGraphScope > 0;
  // Leaf gradients are summed aside and reach .grad only once the whole pass has run, as
  // PyTorch accumulates a leaf once: .grad is written in place, and a node that runs later may
  // have saved it (a second-order term); a pass that throws leaves every .grad as it was.
  const pending = new Map<Tensor, Tensor>();
  try {
    propagate(start, gradient, order, (e, g) => {
      if (!('leaf' in e)) return false;
      sumInto(pending, e.leaf, shapedAs(e.leaf, g));
      return true;
    }, true, createGraph);
  } catch (err) {
    for (const g of pending.values()) g.dispose();
    throw err;
  }
  // Hooks on leaves see each leaf's summed gradient, before .grad does.
  if (anyLeafHooks)
    try {
      // (Replacing a value while iterating a Map visits each key once.)
      for (const [leaf, g] of pending)
        if (leafHooks.get(leaf)?.length) pending.set(leaf, isolated(() => (createGraph ? withGrad : noGrad)(() => runLeafHooks(leaf, g))));
    } catch (err) {
      for (const g of pending.values()) if (!g.isDisposed) g.dispose();
      throw err;
    }
  // A graph-building pass sums in the caller's scopes (see accumulate); the plain one in place, isolated.
  if (scoped) for (const leaf of pending.keys()) scopeLeaves.add(leaf);
  if (createGraph) withGrad(() => pending.forEach((g, leaf) => accumulate(leaf, g, true)));
  else isolated(() => noGrad(() => pending.forEach((g, leaf) => accumulate(leaf, g, false))));
  // The graph a createGraph pass builds runs through these nodes (their saved values): kept.
  if (!retainGraph && !createGraph) for (const n of order) n.freeSaved();
}

/** How many withCreateGraph() scopes are open: backward() in one builds a graph when every op allows it. */
let createGraphScope = 0;
/** In the open withCreateGraph() scope: backward() calls, those that built a graph, and the ops that kept the others from it. */
let scopeBackwards = 0;
let scopeGraphs = 0;
let scopeBlockers = new Set<string>();
let scopeLeaves = new Set<Tensor>();
/** The open scope builds no graph through costly nodes (Node.costly). */
let scopeCheap = false;

/**
 * @internal Runs fn with backward() building differentiable gradients
 * (createGraph) wherever every op on the way supports it; otherwise
 * backward() works as usual. Returns fn's result, how many backward() calls
 * fn made, whether every one of them built a graph (`created`: then the
 * gradients they left are differentiable throughout), the ops that kept
 * any from it; `onExit` gets the leaves whose .grad a graph-building
 * backward wrote, whether fn returned or threw (the caller cuts those
 * graphs when done: its own parameters' and any other's, a frozen layer's
 * or an input's). AdaHessian's exact
 * Hessian-vector products ride on the user's closure this way. `cheap`:
 * a costly node (Node.costly) counts as a blocker too. Not reentrant (one
 * scope at a time).
 */
export function withCreateGraph<T>(
  fn: () => T, onExit?: (leaves: Tensor[]) => void, cheap = false,
): { result: T; created: boolean; backwards: number; blockers: string[] } {
  if (createGraphScope > 0) fail('INVALID_ARGUMENT', 'withCreateGraph: already inside one (an AdaHessian step inside another\'s closure?)');
  createGraphScope += 1;
  scopeCheap = cheap;
  scopeBackwards = 0;
  scopeGraphs = 0;
  scopeBlockers = new Set();
  scopeLeaves = new Set();
  try {
    const result = fn();
    return { result, created: scopeBackwards > 0 && scopeGraphs === scopeBackwards, backwards: scopeBackwards, blockers: [...scopeBlockers] };
  } finally {
    createGraphScope -= 1;
    scopeCheap = false;
    // The leaves go to onExit, whether fn returned or threw; no reference is kept past the scope.
    const leaves = [...scopeLeaves];
    scopeLeaves = new Set();
    onExit?.(leaves);
  }
}

/**
 * @internal Runs fn as if no withCreateGraph() scope were open: its
 * backward() calls build no graph and are not counted in the scope (a
 * measurement inside a user's closure, such as 'auto' timing a training
 * call's backward on copies of its operands).
 */
export function outsideCreateGraph<T>(fn: () => T): T {
  const saved = createGraphScope;
  createGraphScope = 0;
  try {
    return fn();
  } finally {
    createGraphScope = saved;
  }
}

/**
 * @internal "'a', 'b' have no differentiable backward", for NOT_SUPPORTED
 * messages, with the way around each where there is one.
 */
export function noSecondDerivative(blockers: readonly string[]): string {
  const text = `${blockers.map((b) => `'${b}'`).join(', ')} ${blockers.length > 1 ? 'have' : 'has'} no differentiable backward`;
  return blockers.includes('solveIVP') ? `${text} (solveIVP and NeuralODE with method 'rk4' have one: backprop through the steps)` : text;
}

/** The names of the ops among `order` whose backward is not differentiable, or costly when `cheap` (each once). */
function doubleBlockersOf(order: readonly Node[], cheap = false): string[] {
  const names = new Set<string>();
  for (const n of order) if (!n.double || (cheap && n.costly)) names.add(n.name);
  return [...names];
}

/**
 * @internal The ops whose backward is not differentiable among those a
 * gradient of root with respect to `targets` runs (gradients()' live nodes):
 * a createGraph gradient needs none. Ops off those paths do not count.
 */
export function doubleBlockers(root: Tensor, targets: Edge[], through = false): string[] {
  const start = root.gradFn;
  if (!start) return [];
  const slot = new Set<Tensor | Node>();
  for (const e of targets) if (e) slot.add('leaf' in e ? e.leaf : e.node);
  return slot.has(start) && !through ? [] : doubleBlockersOf(liveNodes(start, slot, through));
}

/**
 * The nodes from start (topological order) from which a target (a leaf or a
 * node in `slot`) can be reached; the targets' nodes end the walk unless
 * `through` (then a target's node is live when another target lies beyond).
 */
function liveNodes(start: Node, slot: { has(k: Tensor | Node): boolean }, through = false): Node[] {
  const reaches = new Map<Node, boolean>();
  const order = topologicalOrder(start, (n) => through || !slot.has(n), (n) => {
    const r = n.edges.some((e) => e !== null && (('leaf' in e && slot.has(e.leaf)) || ('node' in e && (slot.has(e.node) || reaches.get(e.node) === true))));
    reaches.set(n, r);
  });
  return order.filter((n) => reaches.get(n));
}

/**
 * The saved values of a node, for a backward that builds a graph: each view
 * of an input or of the output comes as a new tensor whose gradient goes
 * where that value's would (the input's edge, or the node itself), so the
 * gradients the backward function builds from them are differentiable in
 * the op's inputs; constants come as they are. Made inside the caller's
 * tidy(): the tensors go, their nodes stay as long as the new graph uses them.
 */
function connectedSaved(node: Node): Tensor[] {
  return node.saved.map((t, i) => {
    const e = i < node.savedEdges.length ? node.savedEdges[i] : null;
    if (!e) return t;
    if (e !== SELF && 'backward' in e) return siblingOf(node, t, e);
    return markDouble(recordEdges(t.detach(), 'saved', [e === SELF ? node.edge : e], (g) => [g]));
  });
}

/**
 * A saved sibling output t of node's op, connected: a new node on the op's
 * inputs whose backward is the sibling's, over views of the same saved
 * values (in whose savedEdges the sibling is itself, SELF), so that its
 * gradient reaches the inputs and higher derivatives stay exact.
 */
function siblingOf(node: Node, t: Tensor, sib: SiblingOutput): Tensor {
  const out = recordEdges(t.detach(), sib.name, node.edges, sib.backward, node.saved.slice(0, node.savedViews));
  const made = out.gradFn!;
  made.double = true;
  made.savedEdges = node.savedEdges.map((e) => (e === sib ? SELF : e));
  return out;
}

/**
 * @internal The gradients of `root` (seeded with `gradient`) with respect to
 * `targets` (graphBoundary's edges: leaves or nodes), like
 * torch.autograd.grad: only the nodes on a path from root to a target run,
 * nothing reaches any .grad, and the graph is kept (freeAfter: what the
 * nodes that ran saved is freed). The targets' own graphs are not entered,
 * unless `through` (autograd.grad's inputs: a target's gradient also flows
 * on to the targets beyond it). One gradient per target, null where none
 * flows.
 */
export function gradients(root: Tensor, gradient: Tensor, targets: Edge[], createGraph = false, freeAfter = false, through = false, targetHooks = false): (Tensor | null)[] {
  const out: (Tensor | null)[] = targets.map(() => null);
  const slot = new Map<Tensor | Node, number>();
  targets.forEach((e, i) => e && slot.set('leaf' in e ? e.leaf : e.node, i));
  const add = (i: number, g: Tensor) => {
    const prev = out[i];
    if (!prev) out[i] = g;
    else {
      out[i] = prev.add(g);
      prev.dispose();
      g.dispose();
    }
  };
  const start = root.gradFn;
  if (!start || (slot.has(start) && !through)) {
    const i = slot.get(start ?? root);
    if (i !== undefined) out[i] = isolated(() => gradient.clone());
    return out;
  }
  // The root's own node as a target, walked through: it gets the seed itself.
  const rootSlot = slot.get(start);
  if (rootSlot !== undefined) out[rootSlot] = isolated(() => gradient.clone());
  // Only nodes from which a target can be reached; the targets' nodes end the walk (unless through).
  const live = liveNodes(start, slot, through);
  const reaches = new Set(live);
  if (!reaches.has(start)) return out;
  try {
    propagate(start, gradient, live, (e, g) => {
      const i = slot.get('leaf' in e ? e.leaf : e.node);
      if (i !== undefined) {
        // Walking through a target's node with more targets beyond: a copy here, the sum goes on.
        if (through && 'node' in e && reaches.has(e.node)) {
          isolated(() => add(i, g.clone()));
          return false;
        }
        isolated(() => add(i, g));
        return true;
      }
      // On to a node that leads to a target; anything else is dropped.
      if ('node' in e && reaches.has(e.node)) return false;
      g.dispose();
      return true;
    }, false, createGraph);
  } catch (err) {
    for (const g of out) g?.dispose();
    throw err;
  }
  // autograd.grad (targetHooks): the targets' own hooks (Tensor.registerHook) see their summed
  // gradients, as PyTorch's runs the hooks of its inputs (a target walked through on the way to
  // others ran its hooks there already).
  if (targetHooks)
    try {
      targets.forEach((e, i) => {
        const g = out[i];
        if (!g || !e || ('node' in e && reaches.has(e.node))) return;
        out[i] = null;
        out[i] = isolated(() => (createGraph ? withGrad : noGrad)(() => ('leaf' in e ? runLeafHooks(e.leaf, g) : runHooks(e.node.hooks, g, () => `the result of '${e.node.name}'`))));
      });
    } catch (err) {
      for (const g of out) if (g && !g.isDisposed) g.dispose();
      throw err;
    }
  // retainGraph false (autograd.grad's): what the nodes that ran saved is freed, as backward() does.
  if (freeAfter && !createGraph) for (const n of live) n.freeSaved();
  return out;
}

/**
 * Nodes reachable from start in topological order (every node after the
 * nodes it feeds): an iterative DFS that enters a node only when `enter`
 * allows it, calling `done` on each node after its inputs.
 */
function topologicalOrder(start: Node, enter: (n: Node) => boolean, done?: (n: Node) => void): Node[] {
  const order: Node[] = [];
  const visited = new Set<Node>([start]);
  const stack: [Node, number][] = [[start, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.edges.length) {
      top[1] += 1;
      const e = node.edges[i];
      if (e && 'node' in e && !visited.has(e.node) && enter(e.node)) {
        visited.add(e.node);
        stack.push([e.node, 0]);
      }
    } else {
      done?.(node);
      order.push(node);
      stack.pop();
    }
  }
  return order;
}

/** How many backward passes are running (a checkpoint's recompute runs one inside another), and what runs when the outermost ends. */
let passDepth = 0;
const passEnd: (() => void)[] = [];

/**
 * @internal Runs fn once the backward pass now running (the outermost, when one runs inside another) is over,
 * whether it returned or threw; at once when none runs. A full backward hook's gradOutput, kept for the input
 * side of the same pass, is freed this way when that side never runs (autograd.grad of a parameter only).
 */
export function afterBackwardPass(fn: () => void): void {
  if (passDepth === 0) fn();
  else passEnd.push(fn);
}

/**
 * Runs the backward functions of `order` (topological, start last) from
 * `gradient` at start. Each gradient for an edge goes to `sink` first, which
 * returns true when it took it (owning the tensor); otherwise it is summed
 * into the gradient of the node the edge points to. Pending gradients are
 * freed even when a backward function throws.
 */
function propagate(start: Node, gradient: Tensor, order: Node[], sink: (e: NonNullable<Edge>, g: Tensor) => boolean, owned = false, createGraph = false): void {
  passDepth += 1;
  try {
    propagateOnce(start, gradient, order, sink, owned, createGraph);
  } finally {
    passDepth -= 1;
    if (passDepth === 0) for (const fn of passEnd.splice(0)) fn();
  }
}

function propagateOnce(start: Node, gradient: Tensor, order: Node[], sink: (e: NonNullable<Edge>, g: Tensor) => boolean, owned = false, createGraph = false): void {
  const freed = order.find((n) => n.freed);
  if (freed) {
    if (owned) gradient.dispose();
    fail(
      'INVALID_ARGUMENT',
      `backward: the graph through '${freed.name}' was already freed by an earlier backward(); pass {retainGraph: true} to the first call to run backward twice`,
    );
  }
  if (createGraph) {
    const blockers = doubleBlockersOf(order);
    if (blockers.length) {
      if (owned) gradient.dispose();
      fail(
        'NOT_SUPPORTED',
        `backward with createGraph (a second derivative): ${noSecondDerivative(blockers)}; ` +
          "for Hessian-vector products through them use hvp(f, x, v, {method: 'central'}) or AdaHessian's hvp: 'forward', which difference first derivatives",
      );
    }
  }
  try {
    checkVersions(order);
  } catch (err) {
    if (owned) gradient.dispose();
    throw err;
  }
  isolated(() =>
    (createGraph ? withGrad : noGrad)(() => {
      const grads = new Map<Node, Tensor>();
      grads.set(start, owned ? gradient : gradient.clone());
      try {
        for (let k = order.length - 1; k >= 0; k--) {
          const node = order[k];
          let gy = grads.get(node);
          if (!gy) continue;
          if (node.hooks?.length || node.retained) {
            // The tensor's hooks, then its retained .grad (PyTorch runs retain_grad's last).
            grads.delete(node);
            gy = runHooks(node.hooks, gy, () => `the result of '${node.name}'`);
            grads.set(node, gy);
            const t = node.retained;
            if (t && !t.isDisposed && t.gradFn === node) accumulate(t, gy.clone(), createGraph);
          }
          // Temporaries of the backward function are freed. Each edge owns its
          // gradient: gy itself (a pass-through, like add's) goes to the first edge
          // that gets it, and a tensor returned twice is copied for the second.
          const raw = tidy(() => node.backwardFn(gy, createGraph ? connectedSaved(node) : node.saved, node.edges.map((e) => e !== null)));
          grads.delete(node);
          const owned = new Set<Tensor>();
          let gyTaken = false;
          const inGrads = raw.map((g, i) => {
            if (!g || !node.edges[i]) return null;
            if (owned.has(g) || (g === gy && gyTaken)) return g.clone();
            if (g === gy) gyTaken = true;
            owned.add(g);
            return g;
          });
          // Gradients for inputs that need none (no edge) are dropped.
          for (const g of raw) if (g && g !== gy && !owned.has(g)) g.dispose();
          if (!gyTaken) gy.dispose();
          node.edges.forEach((e, i) => {
            const g = inGrads[i];
            if (!g || !e) return;
            if (sink(e, g)) return;
            if ('leaf' in e) return g.dispose();
            sumInto(grads, e.node, g);
          });
        }
      } finally {
        for (const g of grads.values()) g.dispose();
      }
    }),
  );
}

/** map[key] += g, taking g (out of place: the tensor already there may be read elsewhere). */
function sumInto<K>(map: Map<K, Tensor>, key: K, g: Tensor): void {
  const prev = map.get(key);
  if (!prev) return void map.set(key, g);
  map.set(key, prev.add(g));
  prev.dispose();
  g.dispose();
}

/** @internal g (owned) with the leaf's shape (a gradient may come as [] for [1], say): g itself or a reshape of it. */
export function shapedAs(leaf: Tensor, g: Tensor): Tensor {
  return g.shape.length === leaf.shape.length && g.shape.every((d, i) => d === leaf.shape[i]) ? g : reshapeOwned(g, leaf.shape);
}

function accumulate(leaf: Tensor, g: Tensor, createGraph: boolean): void {
  // A leaf whose requiresGrad was turned off after the forward (a frozen layer) gets nothing, as in PyTorch.
  if (leaf.isDisposed || !leaf.requiresGrad) return g.dispose();
  const shaped = shapedAs(leaf, g);
  const prev = leaf.grad;
  if (prev && !prev.isDisposed) {
    // With createGraph the sum is a recorded op, out of place, as PyTorch's AccumulateGrad then
    // (an in-place sum would change values the graph may have saved); the .grad it replaces goes
    // as the setter sends it (to the caller's innermost tidy() scope, or freed if none is open).
    if (createGraph) {
      const sum = prev.add(shaped);
      shaped.dispose();
      leaf.grad = sum;
      return;
    }
    if (prev.dtype === shaped.dtype && prev.device === shaped.device && prev.shape.length === shaped.shape.length && prev.shape.every((d, i) => d === shaped.shape[i])) {
      // In place, as PyTorch's AccumulateGrad: a reference to .grad taken earlier stays valid
      // and sees the sum. (prev − (−1)·g is prev + g to the bit.)
      addScaledInPlace(prev.handle, shaped.handle, 1);
      shaped.dispose();
      return;
    }
    const sum = prev.add(shaped); // a .grad the user set to another shape, dtype or device
    prev.dispose();
    shaped.dispose();
    leaf.grad = sum;
  } else leaf.grad = shaped;
}

function reshapeOwned(g: Tensor, shape: readonly number[]): Tensor {
  const r = g.reshape(shape);
  g.dispose();
  return r;
}
