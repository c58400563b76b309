// Progress of one video (HTML5 or an embedded player): 25, 50 and 75 % reported once each.
export function progress(sent: number[], pct: number, send: (action: string, percent: number) => void): void {
  for (const q of [25, 50, 75]) if (pct >= q && sent.indexOf(q) < 0) send("progress", sent.push(q) && q);
}
