// The method registry. Adding a method is one file under Methods/ (its descriptor, typed configuration and policy)
// and one line here.

public enum MethodRegistry {
  /// Every method, in the order help, `eval` and the explorer's `m` list them.
  public static let all: [MethodDescriptor] = [
    Baseline.descriptor,
    ToMe.descriptor,
    EViT.descriptor,
    IdleViT.descriptor,
    MSTM.descriptor,
    ClusTR.descriptor,
    DVT.descriptor,
    UPViT.descriptor,
    PiToMe.descriptor,
    ATC.descriptor,
    VisionZip.descriptor,
    DToMe.descriptor,
  ]

  public static var names: [String] { all.map(\.name) }

  public static func descriptor(named name: String) -> MethodDescriptor? { all.first { $0.name == name } }

  /// Every method's explorer presets, in registry order (what `m` cycles through).
  public static var presets: [String] { all.flatMap(\.presets) }

  /// The help text listing every method and its keys (used by --help and error messages).
  public static var helpText: String { all.map(\.helpText).joined(separator: "\n") }
}
