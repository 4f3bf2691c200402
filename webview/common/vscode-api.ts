// The webview side of the typed message protocol, and VS Code's state API (restored on reload).
interface VsCodeApi<S> {
  postMessage(message: unknown): void;
  getState(): S | undefined;
  setState(state: S): void;
}
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

export function vscodeApi<S, Out>(): { post(message: Out): void; state(): S | undefined; save(state: S): void } {
  const api = acquireVsCodeApi<S>();
  return { post: (m) => api.postMessage(m), state: () => api.getState(), save: (s) => api.setState(s) };
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string>, ...children: (Node | string)[]): HTMLElementTagNameMap[K];
export function el(tag: string, attrs?: Record<string, string>, ...children: (Node | string)[]): HTMLElement;
export function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

export const pct = (v: number | null | undefined) => (v === null || v === undefined ? '' : `${(100 * v).toFixed(1)}%`);
