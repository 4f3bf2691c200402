// Colour contrast as WCAG 2 defines it, and a theme colour made readable: mixed toward the text
// colour until it reaches a ratio on every background it sits on. Pure (no DOM): tests import it.

export type Rgb = [number, number, number];

/** A CSS colour as VS Code's theme variables write it (#rgb, #rgba, #rrggbb, #rrggbbaa, rgb(), rgba()); null otherwise. */
export function parseColor(text: string): { rgb: Rgb; alpha: number } | null {
  const s = text.trim().toLowerCase();
  let m = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/.exec(s);
  if (m) {
    let hex = m[1];
    if (hex.length <= 4) hex = [...hex].map((c) => c + c).join('');
    const n = (i: number) => parseInt(hex.slice(i, i + 2), 16);
    return { rgb: [n(0), n(2), n(4)], alpha: hex.length === 8 ? n(6) / 255 : 1 };
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(s);
  if (m) {
    const a = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
    return { rgb: [+m[1], +m[2], +m[3]], alpha: a };
  }
  return null;
}

/** A colour over an opaque background (its alpha composited). */
export function over(color: { rgb: Rgb; alpha: number }, background: Rgb): Rgb {
  return color.rgb.map((c, i) => c * color.alpha + background[i] * (1 - color.alpha)) as Rgb;
}

export function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio, 1 to 21. */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

export const hex = (c: Rgb) => `#${c.map((v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0')).join('')}`;

const mix = (a: Rgb, b: Rgb, t: number): Rgb => a.map((v, i) => v + (b[i] - v) * t) as Rgb;

/** `color` moved a share `t` of the way to `toward` (both CSS colours); unparsable input comes back unchanged. */
export function blend(color: string, toward: string, t: number): string {
  const a = parseColor(color);
  const b = parseColor(toward);
  if (!a || !b) return color;
  const base = over(b, [255, 255, 255]);
  return hex(mix(over(a, base), base, t));
}

/**
 * `color` where it reaches `ratio` on every background, else the least mix of it toward `toward`
 * (the theme's text colour, which reads on those backgrounds) that does; `toward` itself at worst.
 * Unparsable input comes back unchanged.
 */
export function readableColor(color: string, backgrounds: string[], toward: string, ratio: number): string {
  const bgs = backgrounds.map((b) => parseColor(b)).filter((b): b is NonNullable<typeof b> => b !== null && b.alpha > 0);
  const base = bgs.length ? over(bgs[0], [255, 255, 255]) : null;
  const c = parseColor(color);
  const t = parseColor(toward);
  if (!c || !t || !base) return color;
  const opaque = bgs.map((b) => over(b, base));
  const start = over(c, base);
  const target = over(t, base);
  const ok = (x: Rgb) => opaque.every((b) => contrastRatio(x, b) >= ratio);
  for (let k = 0; k <= 20; k++) {
    const x = mix(start, target, k / 20);
    if (ok(x)) return hex(x);
  }
  return hex(target);
}
