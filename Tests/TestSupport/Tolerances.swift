import Testing

/// max |a - b| <= tolerance * max(1, max |b|), the parity tolerance against the torch references; a failure names
/// the worst element.
public func expectClose(_ actual: [Float], _ expected: [Float], _ what: String, tolerance: Float = 1e-4,
                        sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
  guard actual.count == expected.count, !expected.isEmpty else { return }
  let scale = max(1, expected.map(abs).max() ?? 0)
  var worst = 0, worstDiff: Float = 0
  // `!(d <= worst)` also catches NaN, which a plain `d > worst` would let through.
  for i in 0..<actual.count where !(abs(actual[i] - expected[i]) <= worstDiff) {
    worstDiff = abs(actual[i] - expected[i]); worst = i
  }
  #expect(worstDiff <= tolerance * scale,
          "\(what): max |a-b| = \(worstDiff) at \(worst) (got \(actual[worst]), expected \(expected[worst])), limit \(tolerance * scale)",
          sourceLocation: sourceLocation)
}
