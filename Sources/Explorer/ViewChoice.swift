// Which views have something to show for a method: Tab cycles only those, so that a method that never merges does
// not offer an empty merge-groups view. `?` lists every view with the reason a view is left out.
import TokenMethods

extension TokenMapView {
  /// Why this view has nothing for `run`, or nil when it has something (every view applies while `run` is computing).
  public func gap(for run: MethodRun?) -> String? {
    guard let run else { return nil }
    let layers = run.layers
    switch self {
    case .status, .image, .attention: return nil
    case .groups:
      return layers.contains { $0.patchState.contains { $0 == .merged || $0 == .fused } } ? nil
        : "no token of \(run.spec.name) holds more than one patch"
    case .clusters:
      return layers.contains { $0.cluster != nil || $0.annotations?.mergeLevels != nil } ? nil : "\(run.spec.name) makes no clusters"
    case .stages: return run.spec.cascade != nil ? nil : "\(run.spec.name) is not a cascade"
    case .pruning: return run.pruning != nil ? nil : "\(run.spec.name) prunes no heads or MLP units"
    case .score: return layers.contains { $0.annotations?.score != nil } ? nil : "\(run.spec.name) records no per-token score"
    case .roles:
      return layers.contains { $0.annotations?.has([.protected, .dominant, .contextual]) == true } ? nil
        : "\(run.spec.name) gives its tokens no roles"
    case .counts: return layers.contains { $0.annotations?.reference != nil } ? nil : "\(run.spec.name) has no reference count"
    // Every run has a rollout, and the ablation view explains itself until X has ranked the tokens.
    case .relevance, .ablation: return nil
    case .lens: return run.lensUnavailable.map { "no logit lens: \($0)" }
    case .norms: return layers.contains { !$0.tokenNorm.isEmpty } ? nil : "\(run.spec.name) recorded no token norms"
    }
  }
}

extension ExplorerState {
  /// The views Tab cycles for the focused method, in `TokenMapView`'s order (the current one stays in the cycle).
  public var applicableViews: [TokenMapView] {
    let run = focusedRun
    return TokenMapView.allCases.filter { $0 == view || $0.gap(for: run) == nil }
  }

  /// The view `step` places after the current one among the applicable ones.
  func view(steppedBy step: Int) -> TokenMapView {
    let views = applicableViews
    let i = views.firstIndex(of: view) ?? 0
    return views[((i + step) % views.count + views.count) % views.count]
  }
}
