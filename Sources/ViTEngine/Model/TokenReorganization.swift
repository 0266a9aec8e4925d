// A method's change of the token sequence inside a block, kept as the matrix it applies (x_out = M · x_in), so that
// attribution can follow what a token holds through merges, fusing and pruning with the weights actually used rather
// than weights re-derived from the method's rules.

/// One reorganisation of the sequence as a sparse matrix M (outputCount x inputCount) with x_out = M · x_in. Every
/// method writes each input token into at most one output token, so M has at most one entry per column: column t is
/// `weight[t]` in row `destination[t]`, or empty when the token was dropped. Each row's weights sum to 1.
public struct TokenReorganization: Sendable, Equatable {
  public let inputCount: Int, outputCount: Int
  /// Per input token: the output token it went into, or -1 when it was dropped.
  public let destination: [Int32]
  /// Per input token: its weight in its output row (0 when dropped).
  public let weight: [Float]

  /// Builds M from each input token's destination and unnormalised weight; rows are divided by their weight sums.
  /// A row whose sum is not positive (every member weighed 0) falls back to equal weights.
  public init(outputCount: Int, destination: [Int], rawWeight: [Float]) {
    precondition(destination.count == rawWeight.count, "TokenReorganization: \(rawWeight.count) weights for \(destination.count) tokens")
    var sum = [Float](repeating: 0, count: outputCount), members = [Float](repeating: 0, count: outputCount)
    for (t, d) in destination.enumerated() where d >= 0 {
      precondition(d < outputCount, "TokenReorganization: token \(t) goes to \(d) of \(outputCount)")
      sum[d] += rawWeight[t]; members[d] += 1
    }
    self.inputCount = destination.count
    self.outputCount = outputCount
    self.destination = destination.map { Int32($0) }
    self.weight = destination.enumerated().map { t, d in
      guard d >= 0 else { return 0 }
      return sum[d] > 0 ? rawWeight[t] / sum[d] : 1 / members[d]
    }
  }
}
