// What a policy tells the views about one of its phases beyond the token state: a few method-independent pieces
// (a per-token score, per-token roles, the merge distances of a clustering, an expected token count) that a view can
// draw without knowing the method. They are read only by views and reports; no phase of the block reads them back.
//
// Every per-token array is indexed by the tokens of the sequence the phase received, before it reorganised them. The
// forward pass records, with them, which of those tokens held each patch (`RecordedAnnotations`), so the views can
// map them to patches as they map the CLS attention.

/// A score the method computed for every token and decided by.
public struct TokenScore: Sendable, Equatable {
  /// What the score is, in a few words ("energy", "CLS attention").
  public var name: String
  /// How to read it, in a few words ("high: redundant, merged first").
  public var meaning: String
  /// Per token of the phase's input; NaN where the method gave the token no score (prefix tokens, a token outside
  /// the comparison).
  public var values: [Float]
  /// The cut the method applied to the values, when it applied one (a similarity threshold).
  public var threshold: Float?

  public init(name: String, meaning: String, values: [Float], threshold: Float? = nil) {
    self.name = name; self.meaning = meaning; self.values = values; self.threshold = threshold
  }
}

/// A token's part in the phase's decision, where the method gives tokens different parts.
public enum TokenRole: String, Sendable, CaseIterable {
  /// No particular part: the method's ordinary rule applied.
  case ordinary
  /// Kept out of the reduction on purpose (its score put it in the protected set).
  case protected
  /// Kept because its score ranked it among the most important.
  case dominant
  /// One of the few tokens the remaining ones were gathered into.
  case contextual
}

/// The merges of a bottom-up clustering, in the order they were made, and where it stopped.
public struct MergeLevels: Sendable, Equatable {
  /// What the heights measure ("average-linkage cosine distance").
  public var name: String
  /// The height (linkage distance) of every merge made, in merge order.
  public var heights: [Double]
  /// The height of the merge that would have come next, the first one the stopping rule refused; nil when nothing
  /// was left to merge. The cut lies between the last height and this one.
  public var next: Double?
  /// Clusters left when it stopped.
  public var clusters: Int

  public init(name: String, heights: [Double], next: Double?, clusters: Int) {
    self.name = name; self.heights = heights; self.next = next; self.clusters = clusters
  }
}

/// A token count to compare this image's with: what an average image keeps after the block, by the method's own
/// calibration.
public struct TokenCountReference: Sendable, Equatable {
  /// Where the count comes from ("calibration mean").
  public var name: String
  /// Tokens leaving the block, prefix included.
  public var tokensOut: Double

  public init(name: String, tokensOut: Double) { self.name = name; self.tokensOut = tokensOut }
}

/// The annotations of one phase; every part is optional.
public struct TokenAnnotations: Sendable, Equatable {
  public var score: TokenScore?
  /// Per token of the phase's input.
  public var roles: [TokenRole]?
  public var mergeLevels: MergeLevels?
  public var reference: TokenCountReference?

  public init(score: TokenScore? = nil, roles: [TokenRole]? = nil, mergeLevels: MergeLevels? = nil,
              reference: TokenCountReference? = nil) {
    self.score = score; self.roles = roles; self.mergeLevels = mergeLevels; self.reference = reference
  }
}

/// A phase's annotations as a block record keeps them, with the patch -> token map of the sequence they index.
public struct RecordedAnnotations: Sendable {
  public let annotations: TokenAnnotations
  /// Per patch: the index of the token holding it in the phase's input (-1: none, or not among the tokens the
  /// phase received).
  public let patchToken: [Int32]

  public init(annotations: TokenAnnotations, patchToken: [Int32]) {
    self.annotations = annotations; self.patchToken = patchToken
  }
}
