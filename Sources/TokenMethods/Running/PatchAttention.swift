// Any token's attention as a map over the patches, so that the explorer can make the cursor's token the query (as
// bertviz does with a click) instead of CLS.
//
// Shape legend: `probabilities` is heads x queries x keys, as the block used them; `column[p]`/`share[p]` give the key
// column that patch p's token was attended through and its share of it (a key cluster's attention split evenly);
// `row[p]` is the query row of patch p's token, -1 when it did not query (it idled).
public struct PatchAttention: Sendable {
  public let heads: Int, queries: Int, keys: Int
  let probabilities: [Float]
  let column: [Int], share: [Float], row: [Int]

  init(heads: Int, queries: Int, keys: Int, probabilities: [Float], column: [Int], share: [Float], row: [Int]) {
    self.heads = heads; self.queries = queries; self.keys = keys; self.probabilities = probabilities
    self.column = column; self.share = share; self.row = row
  }

  /// The attention of the token holding patch `query` to the token holding each patch, for one head or the mean of
  /// heads; nil when that token did not query in this block.
  public func map(query: Int, head: Int?) -> [Float]? {
    guard query >= 0, query < row.count, row[query] >= 0 else { return nil }
    return map(queryRow: row[query], head: head)
  }

  /// Query row `q`'s attention (row 0 is CLS's) to the token holding each patch.
  func map(queryRow q: Int, head: Int?) -> [Float] {
    let chosen = head.map { [$0] } ?? Array(0..<heads)
    return column.indices.map { p in
      guard column[p] >= 0 else { return 0 }
      let sum = chosen.reduce(Float(0)) { $0 + probabilities[($1 * queries + q) * keys + column[p]] }
      return sum / Float(chosen.count) * share[p]
    }
  }
}
