/**
 * HTML to the text the chunker reads: headings h1–h6 become Markdown headings (`## Title`), block
 * elements become paragraphs, list items `- ` lines, `<br>` a line break; whitespace is collapsed
 * outside `<pre>`; scripts, styles, templates, the head and other non-content elements are dropped.
 * Entities are decoded by htmlparser2 (the forgiving parser: broken markup still gives its text).
 */
import { Parser } from 'htmlparser2';

/** Elements whose content is not document text. */
const DROPPED = new Set(['script', 'style', 'noscript', 'template', 'head', 'svg', 'math', 'iframe', 'object', 'canvas', 'select', 'button']);
/** Elements that start and end a paragraph. */
const BLOCKS = new Set([
  'address', 'article', 'aside', 'blockquote', 'caption', 'dd', 'details', 'dialog', 'div', 'dl', 'dt', 'fieldset', 'figcaption', 'figure',
  'footer', 'form', 'header', 'hgroup', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody', 'thead', 'tfoot', 'tr', 'ul',
]);
const CELLS = new Set(['td', 'th']);

export function htmlToText(html: string): string {
  let out = '';
  /** Break owed before the next text: 0 none, 1 a line break, 2 a blank line. */
  let pending = 0;
  let dropped = 0;
  let pre = 0;
  let heading = 0;
  let cellInRow = 0;
  const write = (text: string) => {
    if (!text) return;
    if (out) {
      if (pending) {
        out = out.replace(/[ \t]+$/, '') + (pending === 2 ? '\n\n' : '\n');
        if (!pre) text = text.replace(/^\s+/, '');
      } else if (/\s$/.test(out) && /^\s/.test(text)) text = text.replace(/^\s+/, '');
    } else text = text.replace(/^\s+/, '');
    pending = 0;
    out += text;
  };
  const breakAt = (level: number) => {
    // A heading stays one line: the chunker reads `## Title` lines.
    if (heading) return;
    pending = Math.max(pending, level);
  };
  const parser = new Parser(
    {
      onopentag(name) {
        if (DROPPED.has(name)) dropped++;
        if (dropped) return;
        const h = /^h([1-6])$/.exec(name);
        if (h) {
          breakAt(2);
          if (heading) write(' ');
          heading++;
          write(`${'#'.repeat(Number(h[1]))} `);
        } else if (name === 'br') {
          if (heading) write(' ');
          else breakAt(1);
        } else if (BLOCKS.has(name)) {
          breakAt(name === 'li' || name === 'tr' || name === 'dt' || name === 'dd' ? 1 : 2);
          if (name === 'pre') pre++;
          if (name === 'li') write('- ');
          if (name === 'tr') cellInRow = 0;
        } else if (CELLS.has(name)) {
          if (cellInRow++) write(' | ');
        }
      },
      ontext(data) {
        if (dropped) return;
        if (pre && !heading) {
          write(data);
          return;
        }
        write(data.replace(/\s+/g, ' '));
      },
      onclosetag(name) {
        if (DROPPED.has(name)) {
          dropped = Math.max(0, dropped - 1);
          return;
        }
        if (dropped) return;
        if (/^h[1-6]$/.test(name)) {
          heading = Math.max(0, heading - 1);
          if (!heading) breakAt(2);
        } else if (BLOCKS.has(name)) {
          if (name === 'pre') pre = Math.max(0, pre - 1);
          breakAt(name === 'li' || name === 'tr' || name === 'dt' || name === 'dd' ? 1 : 2);
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  // A heading with no text (an empty <h2>) is not a heading.
  return out
    .replace(/^#{1,6} *$/gm, '')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
