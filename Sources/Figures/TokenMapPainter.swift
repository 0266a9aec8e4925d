// One token map as the papers draw it, painted over the preprocessed input image.
//
//   image      the input as the model sees it (after resize and crop)
//   status     kept patches as they are; pruned ones faded to white (EViT, DynamicViT); idle ones dimmed (IdleViT);
//              fused ones tinted orange; merged ones outlined by group
//   groups     every merge group filled with its mean colour and outlined (ToMe's vis.py); pruned faded
//   attention  the CLS attention to each patch's token as a viridis heat map over the greyed image
//   score      the method's per-token score (PiToMe's energy, ...) as a viridis heat map over the greyed image,
//              protected patches framed, patches past the method's threshold crossed
//   roles      dominant patches as they are, each contextual token's patches in their mean colour and outlined (its
//              own patch dotted), the rest faded
//
// Shape legend: `input` is the preprocessed image, H x W pixels (grey or RGB); the grid is rows x cols patches of
// (H / rows) x (W / cols) pixels; a painted map is (W * scale) x (H * scale).
import Pixels
import TokenMethods
import ViTEngine

public enum FigureView: String, CaseIterable, Sendable {
  /// `clusters`: ClusTR's key/value clusters as TCFormer draws them (each cluster in its mean colour, outlined);
  /// layers without clusters are drawn as `status`.
  case image, status, groups, attention, clusters
  /// `score` and `roles`: what the method annotated in the block (PatchAnnotations); layers without it are drawn as
  /// `status`. `clusters` also draws the clusters a clustering block made into tokens (its merge groups).
  case score, roles
  /// `rollout`: the attention rollout up to the layer, through the method (AttentionRollout), each map scaled to
  /// its own maximum.
  case rollout
}

public struct TokenMapPainter: Sendable {
  public let input: PixelImage
  public let grid: (rows: Int, cols: Int)
  public let scale: Int

  /// State colours shared with the explorer's legend.
  public static let fusedTint = RGB(hex: 0xE69F00)
  public static let outline = RGB(hex: 0x202020)

  public init(input: PixelImage, grid: (rows: Int, cols: Int), scale: Int) {
    self.input = input; self.grid = grid; self.scale = max(1, scale)
  }

  /// The same painter for another grid over the same image (a DVT stage answering on a coarser grid).
  public func regridded(_ g: GridSize) -> TokenMapPainter {
    TokenMapPainter(input: input, grid: (g.rows, g.cols), scale: scale)
  }

  public var width: Int { input.width * scale }
  public var height: Int { input.height * scale }
  var patchWidth: Int { input.width / max(1, grid.cols) }
  var patchHeight: Int { input.height / max(1, grid.rows) }

  /// The patch holding input pixel (x, y), row-major (pixels past the last full patch belong to the last one).
  func patch(_ x: Int, _ y: Int) -> Int {
    min(y / max(1, patchHeight), grid.rows - 1) * grid.cols + min(x / max(1, patchWidth), grid.cols - 1)
  }

  /// Paints `view` for one layer (nil: the input alone).
  public func paint(_ view: FigureView, layer: LayerView?) -> Canvas {
    var canvas = Canvas(width: width, height: height)
    let notes = layer?.annotations
    let clusters = view == .clusters ? layer?.cluster ?? (notes?.mergeLevels != nil ? layer?.group : nil) : nil
    let score = view == .score ? notes?.score : nil
    let roles = view == .roles && notes?.has([.protected, .dominant, .contextual]) == true ? notes?.roles : nil
    let view: FigureView = switch view {
    case .clusters where clusters == nil, .score where score == nil, .roles where roles == nil: .status
    default: view
    }
    let meanColour = layer.map { groupMeans(clusters ?? $0.group) } ?? [:]
    let attention = layer?.attention(head: nil) ?? []
    let maxAttention = max(attention.max() ?? 0, 1e-12)
    let rollout = view == .rollout ? layer?.rollout ?? [] : []
    let maxRollout = max(rollout.max() ?? 0, 1e-12)
    let finite = score?.values.filter(\.isFinite) ?? []
    let low = finite.min() ?? 0, high = finite.max() ?? 1
    // The output groups holding a contextual token: their patches were gathered into it.
    var contextualGroups = Set<Int>()
    if let roles, let layer { for p in roles.indices where roles[p] == .contextual { contextualGroups.insert(layer.group[p]) } }
    for y in 0..<input.height {
      for x in 0..<input.width {
        var colour = input[x, y]
        if let layer, view != .image {
          let p = patch(x, y)
          let state = layer.patchState[p]
          switch view {
          case .image: break
          case .status:
            switch state {
            case .pruned: colour = colour.mixed(with: RGB(255, 255, 255), by: 0.85)
            case .idle: colour = colour.mixed(with: RGB(0, 0, 0), by: 0.65)
            case .fused: colour = colour.mixed(with: Self.fusedTint, by: 0.55)
            case .kept, .merged: break
            }
          case .groups:
            colour = state == .pruned ? colour.mixed(with: RGB(255, 255, 255), by: 0.85) : meanColour[layer.group[p]] ?? colour
          case .clusters:
            colour = meanColour[clusters![p]] ?? colour
          case .attention:
            let grey = colour.mixed(with: RGB(128, 128, 128), by: 0.5)
            colour = grey.mixed(with: SequentialPalette.viridis.rgb(at: Double(attention[p] / maxAttention)), by: 0.75)
          case .rollout:
            let grey = colour.mixed(with: RGB(128, 128, 128), by: 0.5)
            colour = p < rollout.count ? grey.mixed(with: SequentialPalette.viridis.rgb(at: Double(rollout[p] / maxRollout)), by: 0.75) : grey
          case .score:
            let v = score!.values[p]
            let grey = colour.mixed(with: RGB(128, 128, 128), by: 0.5)
            colour = v.isFinite ? grey.mixed(with: SequentialPalette.viridis.rgb(at: high > low ? Double((v - low) / (high - low)) : 1), by: 0.75)
              : colour.mixed(with: RGB(255, 255, 255), by: 0.85)
          case .roles:
            switch roles![p] {
            case .dominant, .protected: break
            case .contextual, .ordinary:
              colour = contextualGroups.contains(layer.group[p]) ? meanColour[layer.group[p]] ?? colour
                : colour.mixed(with: RGB(255, 255, 255), by: 0.85)
            }
          }
        }
        canvas.fill(x: x * scale, y: y * scale, width: scale, height: scale, color: colour)
      }
    }
    if let layer, view == .groups || view == .status || view == .clusters {
      drawGroupOutlines(clusters ?? layer.group, on: &canvas, mergedOnly: view == .status)
    }
    if let layer, view == .roles, let roles {
      drawGroupOutlines(layer.group.map { contextualGroups.contains($0) ? $0 : -1 }, on: &canvas, mergedOnly: false)
      for p in roles.indices where roles[p] == .contextual { mark(p, on: &canvas, color: Self.outline, frame: false) }
      for p in roles.indices where roles[p] == .protected { mark(p, on: &canvas, color: Self.protectedFrame, frame: true) }
    }
    if view == .score, let score {
      for p in score.values.indices where notes?.roles?[p] == .protected { mark(p, on: &canvas, color: Self.protectedFrame, frame: true) }
      if let threshold = score.threshold {
        for p in score.values.indices where score.values[p] > threshold { mark(p, on: &canvas, color: Self.outline, frame: false) }
      }
    }
    return canvas
  }

  /// Protected patches' frame colour.
  public static let protectedFrame = RGB(hex: 0xF0E442)

  /// Marks patch `p`: a frame inside its edges (a sixth of the patch wide, at least a pixel), or a dot a third of
  /// its size at its centre.
  func mark(_ p: Int, on canvas: inout Canvas, color: RGB, frame: Bool) {
    let pw = patchWidth * scale, ph = patchHeight * scale
    let x0 = (p % grid.cols) * pw, y0 = (p / grid.cols) * ph
    if frame {
      let w = max(1, min(pw, ph) / 6)
      canvas.fill(x: x0, y: y0, width: pw, height: w, color: color)
      canvas.fill(x: x0, y: y0 + ph - w, width: pw, height: w, color: color)
      canvas.fill(x: x0, y: y0, width: w, height: ph, color: color)
      canvas.fill(x: x0 + pw - w, y: y0, width: w, height: ph, color: color)
    } else {
      let w = max(1, pw / 3), h = max(1, ph / 3)
      canvas.fill(x: x0 + (pw - w) / 2, y: y0 + (ph - h) / 2, width: w, height: h, color: color)
    }
  }

  /// Mean input colour of every group (keyed by the group id, per patch; -1: none).
  func groupMeans(_ group: [Int]) -> [Int: RGB] {
    var sums: [Int: (Int, Int, Int, Int)] = [:]
    for y in 0..<input.height {
      for x in 0..<input.width {
        let g = group[patch(x, y)]
        guard g >= 0 else { continue }
        let c = input[x, y]
        let s = sums[g] ?? (0, 0, 0, 0)
        sums[g] = (s.0 + Int(c.r), s.1 + Int(c.g), s.2 + Int(c.b), s.3 + 1)
      }
    }
    return sums.mapValues { s in RGB(UInt8(s.0 / s.3), UInt8(s.1 / s.3), UInt8(s.2 / s.3)) }
  }

  /// 1-px lines (scaled) on patch edges whose two sides belong to different groups. With `mergedOnly`, only around
  /// groups of more than one patch (the status view marks merges without boxing every kept patch).
  func drawGroupOutlines(_ group: [Int], on canvas: inout Canvas, mergedOnly: Bool) {
    let rows = grid.rows, cols = grid.cols
    var groupSize: [Int: Int] = [:]
    for g in group where g >= 0 { groupSize[g, default: 0] += 1 }
    func outlined(_ p: Int) -> Bool {
      let g = group[p]
      return g >= 0 && (!mergedOnly || (groupSize[g] ?? 0) > 1)
    }
    let pw = patchWidth * scale, ph = patchHeight * scale
    for r in 0..<rows {
      for c in 0..<cols {
        let p = r * cols + c
        // Right and bottom edges; the image border is drawn for outlined patches too.
        let right = c + 1 < cols ? p + 1 : -1, below = r + 1 < rows ? p + cols : -1
        if outlined(p) || (right >= 0 && outlined(right)) {
          if right < 0 || group[right] != group[p] {
            canvas.fill(x: (c + 1) * pw - (right < 0 ? 1 : 0), y: r * ph, width: 1, height: ph, color: Self.outline)
          }
        }
        if outlined(p) || (below >= 0 && outlined(below)) {
          if below < 0 || group[below] != group[p] {
            canvas.fill(x: c * pw, y: (r + 1) * ph - (below < 0 ? 1 : 0), width: pw, height: 1, color: Self.outline)
          }
        }
        if outlined(p) && c == 0 { canvas.fill(x: 0, y: r * ph, width: 1, height: ph, color: Self.outline) }
        if outlined(p) && r == 0 { canvas.fill(x: c * pw, y: 0, width: pw, height: 1, color: Self.outline) }
      }
    }
  }
}
