// Series colours readable on both themes (checked against the light and dark surfaces).
export const PALETTE_LIGHT = ['#1f4fc4', '#c2410c', '#0f766e', '#a21caf', '#4d7c0f', '#b45309', '#0369a1', '#be123c'];
export const PALETTE_DARK = ['#7aa2ff', '#fb923c', '#2dd4bf', '#e879f9', '#a3e635', '#fbbf24', '#38bdf8', '#fb7185'];

export function palette(dark: boolean): string[] {
  return dark ? PALETTE_DARK : PALETTE_LIGHT;
}

export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
