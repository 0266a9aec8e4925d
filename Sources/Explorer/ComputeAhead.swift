// Computing ahead. On a big model a method run takes a while (DeiT-B: about a second on two cores), and switching
// methods would show "computing…" each time. So once every method on screen has its run, the worker computes, one at
// a time, the runs the next key most likely asks for: `m`'s next preset, `+` and `-` on the focused method, then the
// previous preset. A look-ahead never delays what the user asked for: the worker drops one that has not started when
// other work is queued (`Worker.start`), and only one is queued at a time, so a key waits for at most the run in
// progress. `runs` keeps at most `retainedRuns` results that are not on screen, the oldest dropped first, so cycling
// through every preset on a big model does not keep every run's attention maps.
import TokenMethods

extension ExplorerState {
  /// Results kept beyond the methods on screen.
  public static let retainedRuns = 8

  /// The specs the next key most likely shows, most likely first, without those already computed or failed.
  public var likelyNext: [MethodSpec] {
    let focused = focusedSpec
    let candidates = [cycled(focused, by: 1), focused.stepped(1), focused.stepped(-1), cycled(focused, by: -1)]
    var seen = Set(methods.map(\.canonical))
    return candidates.compactMap { $0 }.filter { spec in
      runs[spec.canonical] == nil && errors[spec.canonical] == nil && seen.insert(spec.canonical).inserted
    }
  }

  /// `m`'s preset `step` places from `spec` (its own preset, or the first with its name).
  public func cycled(_ spec: MethodSpec, by step: Int) -> MethodSpec? {
    let presets = methodPresets.compactMap { try? MethodSpec.parse($0) }
    guard !presets.isEmpty else { return nil }
    let current = presets.firstIndex(of: spec) ?? presets.firstIndex { $0.name == spec.name } ?? 0
    return presets[((current + step) % presets.count + presets.count) % presets.count]
  }

  /// The specs on screen, and the baseline where the relevance view needs it.
  var wantedSpecs: [MethodSpec] {
    methods + (view == .relevance && !methods.contains(.baseline) ? [MethodSpec.baseline] : [])
  }

  /// Moves a look-ahead that is now on screen to `pending`, so it shows as computing.
  mutating func promoteLookAheads() {
    for spec in wantedSpecs where lookingAhead.remove(spec.canonical) != nil { pending.insert(spec.canonical) }
  }

  /// The look-ahead to start now, if the screen has everything it shows and none is running.
  mutating func nextLookAhead() -> Effect? {
    guard computeAhead, pending.isEmpty, lookingAhead.isEmpty, missingSpecs.isEmpty, let spec = likelyNext.first else { return nil }
    lookingAhead.insert(spec.canonical)
    return .computeAhead(spec)
  }

  /// Records `run` and drops the oldest results beyond `retainedRuns` that are not on screen.
  mutating func store(_ run: MethodRun) {
    let key = run.spec.canonical
    runs[key] = run
    runOrder.removeAll { $0 == key }
    runOrder.append(key)
    let onScreen = Set(wantedSpecs.map(\.canonical))
    var offScreen = runOrder.filter { !onScreen.contains($0) }
    while offScreen.count > ExplorerState.retainedRuns {
      let oldest = offScreen.removeFirst()
      runs[oldest] = nil
      runOrder.removeAll { $0 == oldest }
    }
  }
}
