// One token map as the papers draw it, painted over the preprocessed input image.
//
//   image      the input as the model sees it (after resize and crop)
//   status     kept patches as they are; pruned ones faded to white (EViT, DynamicViT); idle ones dimmed (IdleViT);
//              fused ones tinted orange; merged ones outlined by group
//   groups     every merge group filled with its mean colour and outlined (ToMe's vis.py); pruned faded
//   attention  the CLS attention to each patch's token as a viridis heat map over the greyed image
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
    let clusters = view == .clusters ? layer?.cluster : nil
    let view = view == .clusters && clusters == nil ? .status : view
    let meanColour = layer.map { groupMeans(clusters ?? $0.group) } ?? [:]
    let attention = layer?.attention(head: nil) ?? []
    let maxAttention = max(attention.max() ?? 0, 1e-12)
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
          }
        }
        canvas.fill(x: x * scale, y: y * scale, width: scale, height: scale, color: colour)
      }
    }
    if let layer, view == .groups || view == .status || view == .clusters {
      drawGroupOutlines(clusters ?? layer.group, on: &canvas, mergedOnly: view == .status)
    }
    return canvas
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
