// Real pixels in the terminal: which graphics protocol a terminal speaks, and where a screen wants images. Widgets
// keep drawing text (the half-block fallback underneath every image); only a backend turns placements into escape
// sequences (GraphicsEncoding.swift), so every screen stays testable as text.
import Pixels

/// An inline-image protocol.
public enum GraphicsProtocol: String, CaseIterable, Sendable {
  /// kitty's graphics protocol (kitty, WezTerm, Ghostty, Konsole).
  case kitty
  /// DEC sixel (foot, xterm -ti vt340, mlterm, WezTerm, Windows Terminal).
  case sixel
  /// iTerm2's inline images, OSC 1337 (iTerm2, WezTerm).
  case iterm

  /// The protocol the environment names, or nil when it names none. tmux (and screen) hide the outer terminal: no
  /// protocol there, unless `passthrough` says tmux forwards them (`allow-passthrough on`, which the user must set).
  public static func detect(environment: [String: String], passthrough: Bool = false) -> GraphicsProtocol? {
    let term = environment["TERM"] ?? "", program = environment["TERM_PROGRAM"] ?? ""
    let multiplexed = environment["TMUX"] != nil || term.hasPrefix("screen") || term.hasPrefix("tmux")
    if multiplexed && !passthrough { return nil }
    if environment["KITTY_WINDOW_ID"] != nil || term == "xterm-kitty" || term == "xterm-ghostty" || program == "ghostty" {
      return .kitty
    }
    if program == "WezTerm" { return .kitty }
    if program == "iTerm.app" || environment["LC_TERMINAL"] == "iTerm2" { return .iterm }
    if term.hasPrefix("foot") || term.hasPrefix("mlterm") { return .sixel }
    return nil
  }

  /// Whether a primary device attributes answer (`CSI ? 62 ; 4 ; 22 c` to `CSI c`) lists sixel (attribute 4).
  public static func deviceAttributesListSixel(_ answer: String) -> Bool {
    let chars = Array(answer)
    guard let open = chars.indices.first(where: { chars[$0] == "[" && $0 + 1 < chars.count && chars[$0 + 1] == "?" }),
      let end = chars[(open + 2)...].firstIndex(of: "c")
    else { return false }
    return String(chars[(open + 2)..<end]).split(separator: ";").contains("4")
  }
}

/// What `--graphics` asks for.
public enum GraphicsMode: String, CaseIterable, Sendable {
  case auto, kitty, sixel, iterm, none

  /// Accepts "off" for "none".
  public init?(argument: String) {
    if argument == "off" { self = .none } else if let mode = GraphicsMode(rawValue: argument) { self = mode } else { return nil }
  }

  /// The protocol to use: the forced one, or (auto) the environment's, else the terminal's answer to the device
  /// attributes query when that lists sixel.
  public func resolve(environment: [String: String], deviceAttributes: String? = nil) -> GraphicsProtocol? {
    switch self {
    case .none: return nil
    case .kitty: return .kitty
    case .sixel: return .sixel
    case .iterm: return .iterm
    case .auto:
      if let found = GraphicsProtocol.detect(environment: environment) { return found }
      let multiplexed = environment["TMUX"] != nil || (environment["TERM"] ?? "").hasPrefix("screen")
      if !multiplexed, let answer = deviceAttributes, GraphicsProtocol.deviceAttributesListSixel(answer) { return .sixel }
      return nil
    }
  }
}

/// An image to show over a rectangle of cells (the text drawn there is its fallback).
public struct ImagePlacement: Hashable, Sendable {
  public var cells: Rect
  public var image: PixelImage

  public init(cells: Rect, image: PixelImage) {
    self.cells = cells
    self.image = image
  }
}

extension TerminalBackend {
  public var graphics: GraphicsProtocol? { nil }
  public mutating func show(_ images: [ImagePlacement]) {}
}
