// A search's hits in a text, as nodes for the panel: the hits in <mark>.
import { splitHits } from '../../src/common/example-filter.js';
import { el } from '../common/vscode-api.js';

/** Text with a search's hits in <mark>. */
export function marked(text: string, search: string): (Node | string)[] {
  return splitHits(text, search).map((p) => (p.hit ? el('mark', {}, p.text) : p.text));
}
