/** Whitespace and encoding repairs that never change what a text says. */

const MOJIBAKE = /[ÃÂâ][\u0080-\u00BF€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]/;
const INVISIBLE = /\uFEFF|\u200B|\u200C|\u200D|\u2060/g;
// C0/C1 control characters other than tab and newline.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** UTF-8 text that was decoded as Latin-1/Windows-1252 once ("cafÃ©" → "café"), when re-decoding is clean. */
export function fixMojibake(text: string): string {
  if (!MOJIBAKE.test(text)) return text;
  const bytes = Buffer.from(text, 'latin1');
  if ([...text].some((c) => c.charCodeAt(0) > 0xff)) return text;
  const decoded = bytes.toString('utf8');
  return decoded.includes('\uFFFD') ? text : decoded;
}

export function fixText(text: string): string {
  return fixMojibake(text.replace(INVISIBLE, ''))
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL, '')
    .normalize('NFC')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
