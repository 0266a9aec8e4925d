// Real pixels: where the maps that are drawn over the image (the image itself, token status, merge groups, CLS
// attention, clusters) go as images, painted as `render` paints them, over the same cells as their text fallback.
// The backend decides whether it can show them; the text screen does not change.
import Figures
import Pixels
import TokenMethods
import TUI

extension ExplorerScreen {
  /// The images for the maps on screen at `size`: none under the help, the plots, a cropped map or a view that is
  /// not drawn over the image.
  public func imagePlacements(size: Size, color: Bool = true) -> [ImagePlacement] {
    guard !state.showHelp, !state.showPlots, size.width >= Layout.minimum.width, size.height >= Layout.minimum.height else { return [] }
    let figure: FigureView
    switch state.view {
    case .image: figure = .image
    case .status: figure = .status
    case .groups: figure = .groups
    case .attention: figure = .attention
    case .clusters: figure = .clusters
    default: return []
    }
    let plan = ScreenLayout.plan(state: state, size: size, color: color)
    let shown = state.compare ? Array(state.methods.indices) : [state.focus]
    let boxes = plan.maps.columns(shown.map { _ in .fill(1) }, spacing: 1)
    var placements: [ImagePlacement] = []
    for (slot, index) in shown.enumerated() {
      let box = boxes[slot].inset(by: 1).inset(bottom: state.compare ? 1 : 0)
      if figure == .image {
        let text = HalfBlockImage(image: state.context.image, centered: true, appearance: appearance).placement(in: box).cells
        placements.append(ImagePlacement(cells: text, image: state.context.image))
        continue
      }
      guard let run = state.runs[state.methods[index].canonical], state.layer < run.layers.count else { continue }
      let layer = run.layers[state.layer]
      if figure == .clusters && layer.cluster == nil && layer.annotations?.mergeLevels == nil { continue }
      let g = run.grid
      let geometry = MapGeometry.fitting(grid: (g.rows, g.cols), in: box, color: color, focus: state.cursor)
      guard !geometry.isCropped else { continue }
      let cells = Rect(x: geometry.x, y: geometry.y, width: geometry.cols * geometry.cellWidth,
                       height: geometry.halfRows ? (geometry.rows + 1) / 2 : geometry.rows * geometry.cellHeight)
      // About ten pixels a cell across, from the image's own size.
      let image = state.context.image
      let scale = max(1, min(8, cells.width * 10 / max(1, image.width)))
      let canvas = TokenMapPainter(input: image, grid: (g.rows, g.cols), scale: scale).paint(figure, layer: layer)
      placements.append(ImagePlacement(cells: cells, image: PixelImage(width: canvas.width, height: canvas.height, channels: 3,
                                                                     pixels: canvas.pixels)))
    }
    return placements
  }
}
