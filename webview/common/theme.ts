// The webview's theme: VS Code sets body classes (vscode-light, vscode-dark, vscode-high-contrast,
// vscode-high-contrast-light) and --vscode-* variables, and changes both when the user switches
// themes. One observer tells every subscriber; colours are read from the variables each time.
import { readableColor } from './contrast.js';

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export function themeKind(): ThemeKind {
  const c = document.body.classList;
  return c.contains('vscode-high-contrast-light') ? 'high-contrast-light' : c.contains('vscode-high-contrast') ? 'high-contrast' : c.contains('vscode-light') ? 'light' : 'dark';
}

export const cssVar = (name: string, fallback: string): string => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

const listeners = new Set<() => void>();
let observer: MutationObserver | null = null;
let lastKey = '';
// VS Code writes the theme kind as body's class and the variables into html's style attribute,
// one after the other: a change of either is a theme change, told once (body's own style, which
// this file writes, is left out)
const key = () => `${document.body.className}|${document.documentElement.getAttribute('style') ?? ''}`;

/** Calls `listener` after every theme change; returns what stops it. */
export function onThemeChange(listener: () => void): () => void {
  listeners.add(listener);
  if (!observer) {
    lastKey = key();
    let pending = false;
    observer = new MutationObserver(() => {
      if (key() === lastKey || pending) return;
      // the class and the variables arrive in separate mutations: tell the listeners once, after both
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        const now = key();
        if (now === lastKey) return;
        lastKey = now;
        for (const l of [...listeners]) l();
      });
    });
    observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
  }
  return () => listeners.delete(listener);
}

/**
 * The colours of right and wrong predictions as --ptune-right and --ptune-wrong: the theme's
 * test-passed and error colours, made to reach 4.5:1 (WCAG AA for text) on the editor background
 * and on the hover and selection backgrounds of a row. Set again on every theme change.
 */
export function applyStatusColors(): void {
  const fg = cssVar('--vscode-foreground', '#cccccc');
  const backgrounds = [cssVar('--vscode-editor-background', '#1e1e1e'), cssVar('--vscode-list-hoverBackground', '#2a2d2e'), cssVar('--vscode-list-inactiveSelectionBackground', '#37373d')];
  const set = (name: string, color: string) => document.body.style.setProperty(name, readableColor(color, backgrounds, fg, 4.5));
  set('--ptune-right', cssVar('--vscode-testing-iconPassed', '#73c991'));
  set('--ptune-wrong', cssVar('--vscode-errorForeground', '#f48771'));
  set('--ptune-accent', cssVar('--vscode-textLink-foreground', '#3794ff'));
  document.body.dataset.theme = themeKind();
}
