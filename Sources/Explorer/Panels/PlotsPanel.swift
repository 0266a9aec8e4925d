// The plots that replace the maps on `p`.
import NumberFormatting
import Pixels
import TokenMethods
import TUI

extension ExplorerScreen {
  /// Tokens and cumulative GMACs per layer for every method on screen against the baseline, and the focused method's
  /// attention entropy by layer (columns) and head (rows), the current layer marked; with dataset maps loaded, their
  /// panel too (DatasetMapsPanel.swift, which also says where each part goes).
  func renderPlots(in area: Rect, buffer: inout Buffer) {
    let plan = ExplorerScreen.plotsPlan(state: state, area: area)
    if let loaded = state.datasetMaps, let box = plan.maps { renderDatasetMaps(loaded, in: box, buffer: &buffer) }
    if let charts = plan.charts { renderCharts(in: charts, buffer: &buffer) }
    if let entropy = plan.entropy { renderEntropy(in: entropy, buffer: &buffer) }
  }

  func renderCharts(in area: Rect, buffer: inout Buffer) {
    let top = area.columns([.fill(1), .fill(1)], spacing: 1)
    let runs = state.methods.compactMap { state.runs[$0.canonical] }
    let depth = state.context.depth
    let xLabels = depth < 4 ? (1...max(1, depth)).map(String.init) : ["1", "\(depth / 2)", "\(depth)"]
    // Each series has its own marker, shown in the legend too, so the lines read without colour.
    let markers = ascii ? ["o", "*", "+", "#", "^"] : ["○", "●", "◆", "■", "▲"]
    let baselineStyle = Style(fg: .rgb(153, 153, 153))
    func seriesStyle(_ i: Int) -> Style { Style(fg: CategoricalPalette.color(for: i)) }
    var tokens: [ChartSeries] = [], macs: [ChartSeries] = []
    if let first = runs.first {
      tokens.append(ChartSeries(name: "none", values: Array(repeating: Double(first.layers[0].tokensIn), count: depth),
                                marker: markers[0], style: baselineStyle))
      // Baseline MACs per block, from the run's own totals: (baseline - stem - head) / depth.
      let head = first.totalMACs - first.stemMACs - first.layers.reduce(0) { $0 + $1.macs }
      let block = Double(first.baselineMACs - first.stemMACs - head) / Double(depth)
      macs.append(ChartSeries(name: "none", values: (0..<depth).map { (Double(first.stemMACs) + block * Double($0 + 1)) / 1e9 },
                              marker: markers[0], style: baselineStyle))
    }
    for (i, run) in runs.enumerated() where run.spec.name != "none" {
      let marker = markers[(i + 1) % markers.count]
      tokens.append(ChartSeries(name: run.spec.name, values: run.layers.map { Double($0.tokensOut) }, marker: marker, style: seriesStyle(i)))
      macs.append(ChartSeries(name: run.spec.name, values: run.layers.map { Double($0.cumulativeMACs) / 1e9 }, marker: marker,
                              style: seriesStyle(i)))
    }
    for (title, series, panel) in [("tokens after each layer", tokens, top[0]), ("GMACs so far", macs, top[1])] {
      let block = Block(title: Line(" \(title) ", style: bold), borderKind: .rounded, glyphs: glyphs)
      buffer.render(block, in: panel)
      let inner = block.inner(panel)
      let legend = series.map { LegendEntry(glyph: $0.marker ?? "-", style: $0.style, label: $0.name) }
      buffer.render(Legend(entries: legend, glyphs: glyphs), in: Rect(x: inner.x, y: inner.y, width: inner.width, height: 1))
      buffer.render(LineChart(series: series, xLabels: xLabels, glyphs: glyphs), in: inner.inset(top: 1))
    }
  }

  func renderEntropy(in area: Rect, buffer: inout Buffer) {
    let depth = state.context.depth
    let run = state.focusedRun
    let block = Block(title: Line(" attention entropy (nats), \(state.focusedSpec.name): heads x layers ", style: bold),
                      borderKind: .rounded, glyphs: glyphs)
    buffer.render(block, in: area)
    guard let run else { return }
    let heads = run.layers.first?.entropy.count ?? 0
    let values = (0..<heads).map { h in run.layers.map { Double($0.entropy[h]) } }
    buffer.render(HeatGrid(values: values, cellWidth: max(2, min(4, (block.inner(area).width - 4) / max(1, depth))),
                           rowLabels: (0..<heads).map { "h\($0 + 1)" }, columnLabels: (0..<depth).map { "\($0 + 1)" },
                           highlighted: GridPosition(row: 0, column: state.layer), appearance: appearance),
                  in: block.inner(area))
  }
}
