/**
 * Encoding repairs that never change what a text says. Whitespace is left as it is: a completion's
 * leading space, code indentation, trailing spaces (a Markdown line break) and blank lines all carry
 * meaning, and the trainer joins prompt and completion exactly as they are stored.
 */

const MOJIBAKE = /[ÃÂâ][\u0080-\u00BF€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]/;
// Byte-order mark, zero-width space and word joiner. Zero-width (non-)joiners stay: they shape
// Persian and Indic words and join emoji sequences.
const INVISIBLE = /\uFEFF|\u200B|\u2060/g;
// C0/C1 control characters other than tab and newline (a lone carriage return becomes a newline first).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** UTF-8 text that was decoded as Latin-1/Windows-1252 once ("cafÃ©" → "café"), when re-decoding is clean. */
function fixMojibake(text: string): string {
  if (!MOJIBAKE.test(text)) return text;
  const bytes = Buffer.from(text, 'latin1');
  if ([...text].some((c) => c.charCodeAt(0) > 0xff)) return text;
  const decoded = bytes.toString('utf8');
  return decoded.includes('\uFFFD') ? text : decoded;
}

/** Mojibake, invisible and control characters removed, Windows/old-Mac line ends as "\n", Unicode NFC. */
export function fixText(text: string): string {
  return fixMojibake(text.replace(INVISIBLE, ''))
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL, '')
    .normalize('NFC');
}
