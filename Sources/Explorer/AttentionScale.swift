// How the attention view turns attention weights into colours. A linear scale lets one outlier token (DINOv2's
// register-like high-norm tokens take most of the CLS query's attention) flatten every other patch to the bottom
// colour; a log scale over three decades and a percentile (rank) scale keep the rest apart.
import Foundation
import NumberFormatting
import TokenMethods

public enum AttentionScale: String, CaseIterable, Sendable {
  case linear, log, percentile

  /// Decades below the maximum that the log scale spans (weights further down get the bottom colour).
  static let decades = 3.0

  /// Each value placed on 0...1.
  public func normalized(_ values: [Float]) -> [Double] {
    let top = Double(values.max() ?? 0)
    guard top > 0 else { return values.map { _ in 0 } }
    switch self {
    case .linear:
      return values.map { max(0, Double($0) / top) }
    case .log:
      let floor = log10(top) - Self.decades
      return values.map { $0 > 0 ? min(1, max(0, (log10(Double($0)) - floor) / Self.decades)) : 0 }
    case .percentile:
      // The share of patches with a smaller weight (ties share their lowest rank).
      let sorted = values.sorted()
      let n = max(1, values.count - 1)
      return values.map { v in Double(lowerBound(sorted, v)) / Double(n) }
    }
  }

  /// The colour bar's two ends as numbers, for `values`.
  public func endLabels(_ values: [Float]) -> (low: String, high: String) {
    let top = Double(values.max() ?? 0), bottom = Double(values.min() ?? 0)
    switch self {
    case .linear: return ("0", formatFixed(top, decimals: 4))
    case .log: return ("≤" + formatFixed(top / pow(10, Self.decades), decimals: 6), formatFixed(top, decimals: 4))
    case .percentile: return ("lowest " + formatFixed(bottom, decimals: 4), "highest " + formatFixed(top, decimals: 4))
    }
  }

  public var next: AttentionScale {
    let all = Self.allCases
    return all[(all.firstIndex(of: self)! + 1) % all.count]
  }
}

private func lowerBound(_ sorted: [Float], _ value: Float) -> Int {
  var lo = 0, hi = sorted.count
  while lo < hi {
    let mid = (lo + hi) / 2
    if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
  }
  return lo
}

extension ExplorerState {
  /// The attention map the attention view shows for `layer` of `run`: the cursor's token's row when `A` made it the
  /// query (nil if that token did not query in this block), else CLS's; and the query's name for the legend.
  func attentionMap(_ layer: LayerView, run: MethodRun) -> (values: [Float]?, query: String) {
    guard queryAtCursor, let cursor, let p = cursorPatch(in: run) else { return (layer.attention(head: head), "CLS") }
    let name = "patch (\(cursor.row),\(cursor.col))'s token"
    return (layer.patchAttention?.map(query: p, head: head), name)
  }
}
