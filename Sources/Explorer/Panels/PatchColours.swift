// The image's colours per patch and per group of patches: what the maps draw on, so that a map reads as the picture
// it was computed from (render's figures fill merge groups and clusters with their mean colour the same way).
//
// Shape legend: `image` is the preprocessed input, H x W pixels; the grid is rows x cols patches, patch (r, c)
// covering pixels [r*H/rows, (r+1)*H/rows) x [c*W/cols, (c+1)*W/cols); results are row-major, rows * cols.
import Pixels

/// The mean colour of each patch of `image` on a `rows x cols` grid.
func patchMeans(of image: PixelImage, rows: Int, cols: Int) -> [RGB] {
  var means = [RGB](repeating: RGB(0, 0, 0), count: rows * cols)
  guard image.width > 0, image.height > 0, rows > 0, cols > 0 else { return means }
  for row in 0..<rows {
    for col in 0..<cols {
      let x0 = col * image.width / cols, x1 = max(x0 + 1, (col + 1) * image.width / cols)
      let y0 = row * image.height / rows, y1 = max(y0 + 1, (row + 1) * image.height / rows)
      var r = 0, g = 0, b = 0, n = 0
      for y in y0..<min(y1, image.height) {
        for x in x0..<min(x1, image.width) { let c = image[x, y]; r += Int(c.r); g += Int(c.g); b += Int(c.b); n += 1 }
      }
      if n > 0 { means[row * cols + col] = RGB(UInt8(r / n), UInt8(g / n), UInt8(b / n)) }
    }
  }
  return means
}

/// The mean of `patches`' colours over each group (keyed by group id; patches in group -1 belong to none).
func groupMeans(_ group: [Int], patches: [RGB]) -> [Int: RGB] {
  var sums: [Int: (Int, Int, Int, Int)] = [:]
  for (p, g) in group.enumerated() where g >= 0 && p < patches.count {
    let c = patches[p], s = sums[g] ?? (0, 0, 0, 0)
    sums[g] = (s.0 + Int(c.r), s.1 + Int(c.g), s.2 + Int(c.b), s.3 + 1)
  }
  return sums.mapValues { RGB(UInt8($0.0 / $0.3), UInt8($0.1 / $0.3), UInt8($0.2 / $0.3)) }
}
