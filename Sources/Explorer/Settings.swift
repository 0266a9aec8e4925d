// What a user can set once instead of on every command line (the command line reads them from
// $XDG_CONFIG_HOME/tokenscope/config.toml): default methods, the palette, key bindings, graphics, play speed and
// projector mode. Everything here has a built-in default; a setting that is wrong is reported and left at it.
import Pixels
import TUI
import ViTEngine

/// The patch-state palette.
public enum Theme: String, CaseIterable, Sendable {
  /// The explorer's own colours.
  case standard
  /// Okabe and Ito's colour-blind-safe colours (kept bluish green, merged blue, fused orange, idle reddish purple).
  case colorblind
  /// Saturated colours on black, with bold text: for projectors and bright rooms.
  case highContrast = "high-contrast"

  /// The colour of patches in `state`.
  public func color(_ state: PatchState) -> RGB {
    switch (self, state) {
    case (.standard, .kept): return RGB(hex: 0x3CB371)
    case (.standard, .merged): return RGB(hex: 0x4A90D9)
    case (.standard, .fused): return RGB(hex: 0xE69F00)
    case (.standard, .pruned): return RGB(hex: 0x555555)
    case (.standard, .idle): return RGB(hex: 0xA070D0)
    case (.colorblind, .kept): return RGB(hex: 0x009E73)
    case (.colorblind, .merged): return RGB(hex: 0x0072B2)
    case (.colorblind, .fused): return RGB(hex: 0xE69F00)
    case (.colorblind, .pruned): return RGB(hex: 0x999999)
    case (.colorblind, .idle): return RGB(hex: 0xCC79A7)
    case (.highContrast, .kept): return RGB(hex: 0x00FF00)
    case (.highContrast, .merged): return RGB(hex: 0x00BFFF)
    case (.highContrast, .fused): return RGB(hex: 0xFFA500)
    case (.highContrast, .pruned): return RGB(hex: 0x808080)
    case (.highContrast, .idle): return RGB(hex: 0xFF00FF)
    }
  }
}

/// The keys a user can rebind, by the name the config file uses.
public enum BindableAction: String, CaseIterable, Sendable {
  case nextLayer = "next_layer", previousLayer = "previous_layer", nextView = "next_view", method, compare
  case differences, head, scale, play, help, quit, lesson, export, command, plots, image

  public var action: Action {
    switch self {
    case .nextLayer: return .nextLayer
    case .previousLayer: return .previousLayer
    case .nextView: return .nextView
    case .method: return .cycleMethod(1)
    case .compare: return .toggleCompare
    case .differences: return .toggleDifferences
    case .head: return .cycleHead
    case .scale: return .cycleAttentionScale
    case .play: return .togglePlay
    case .help: return .toggleHelp
    case .quit: return .quit
    case .lesson: return .startLesson
    case .export: return .openExportPrompt
    case .command: return .openCommandPrompt
    case .plots: return .togglePlots
    case .image: return .cycleImage(1)
    }
  }
}

/// The settings a config file may hold (nil: not set, the built-in default applies).
public struct ExplorerSettings: Equatable, Sendable {
  public var methods: [String]? = nil
  public var theme: Theme? = nil
  /// The `--graphics` value (auto, kitty, sixel, iterm, none).
  public var graphics: String? = nil
  public var playIntervalMs: Int? = nil
  public var large: Bool? = nil
  /// Whether the worker computes likely next runs while idle (ComputeAhead.swift); on by default in the explorer.
  public var computeAhead: Bool? = nil
  /// Extra keys: a character for an action, taking precedence over the built-in key.
  public var keys: [Character: BindableAction] = [:]

  public init() {}

  /// The settings applied to a fresh state.
  public func apply(to state: inout ExplorerState) {
    if let theme { state.theme = theme }
    if let playIntervalMs { state.playIntervalMs = playIntervalMs }
    if let large, large { state.large = true }
    if let computeAhead { state.computeAhead = computeAhead }
    state.keyBindings = keys
  }
}
