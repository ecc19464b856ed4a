// A small SVG bar chart, written by hand (no dependency): one panel per scenario, horizontal bars
// on a log scale, shm-queue bars in one colour and the peers in another, the figure at the end
// of each bar.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * panels: [{ title, unit, lowerIsBetter, bars: [{ label, value, shm }] }]
 * format(value, unit) -> text shown after the bar.
 */
export function barChart({ title, subtitle, panels, format }) {
  const width = 1000;
  const labelW = 420;
  const valueW = 90;
  const barX = labelW + 10;
  const barMax = width - barX - valueW - 10;
  const rowH = 20;
  const gap = 4;
  let y = 56;
  const parts = [];
  for (const panel of panels) {
    const values = panel.bars.map((b) => b.value).filter((v) => v > 0);
    if (values.length === 0) continue;
    // Log scale from one decade under the smallest value to the largest, so every bar shows.
    const lo = 10 ** (Math.floor(Math.log10(Math.min(...values))) - 0);
    const hi = Math.max(...values) * 1.05;
    const scale = (v) =>
      v <= lo ? 2 : 2 + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (barMax - 2);
    parts.push(`<text x="10" y="${y}" class="panel">${esc(panel.title)}</text>`);
    parts.push(
      `<text x="${width - 10}" y="${y}" class="note" text-anchor="end">${esc(panel.unit)}, log scale${panel.lowerIsBetter ? ', shorter is better' : ', longer is better'}</text>`,
    );
    y += 10;
    for (const bar of panel.bars) {
      const w = bar.value > 0 ? scale(bar.value) : 0;
      parts.push(`<text x="${labelW}" y="${y + rowH - 6}" class="label" text-anchor="end">${esc(bar.label)}</text>`);
      if (bar.value > 0) {
        parts.push(
          `<rect x="${barX}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 2}" class="${bar.shm ? 'shm' : 'peer'}"/>`,
        );
        parts.push(
          `<text x="${(barX + w + 6).toFixed(1)}" y="${y + rowH - 6}" class="value">${esc(format(bar.value, panel.unit))}</text>`,
        );
      } else {
        parts.push(`<text x="${barX + 4}" y="${y + rowH - 6}" class="note">${esc(bar.note ?? 'skipped')}</text>`);
      }
      y += rowH + gap;
    }
    y += 22;
  }
  const height = y + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 16px; font-weight: bold; fill: #222; }
  .subtitle { font-size: 11px; fill: #555; }
  .panel { font-size: 13px; font-weight: bold; fill: #222; }
  .label { font-size: 11px; fill: #333; }
  .value { font-size: 11px; fill: #222; }
  .note { font-size: 10px; fill: #777; }
  .shm { fill: #2b7bb9; }
  .peer { fill: #b0b0b0; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" class="title">${esc(title)}</text>
<text x="10" y="40" class="subtitle">${esc(subtitle)}</text>
${parts.join('\n')}
</svg>
`;
}
