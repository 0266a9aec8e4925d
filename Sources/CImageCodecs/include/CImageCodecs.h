// CImageCodecs: the thin C layer between Swift and libpng / libjpeg(-turbo).
//
// Why C at all: both libraries report errors by longjmp-ing out of a callback. A longjmp across Swift frames is
// undefined behaviour, so every setjmp lives inside exactly one C function below, and the callbacks only ever jump
// back into that same function. Nothing here calls exit() or prints; errors come back as a status plus a one-line
// message written into a caller-owned buffer.
//
// Decoding is two-phase so that Swift can validate the header *before* allocating anything:
//   1. call with out == NULL: parses the header only and fills the info struct;
//   2. Swift checks the dimensions against its limit, allocates info.out_channels * width * height bytes,
//      and calls again with that buffer. The second call re-parses the header and refuses to write past out_size.
//
// Pixel layout of `out` (shape legend): height x width x out_channels, row-major, 8 bits per sample.
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes shared by every function here.
enum {
  CIC_OK = 0,
  CIC_TRUNCATED = 1,    ///< the data ended before the image did
  CIC_CORRUPT = 2,      ///< the library rejected the data (bad CRC, bad zlib stream, bad Huffman table, ...)
  CIC_UNSUPPORTED = 3,  ///< well-formed, but a kind we do not decode (e.g. 12-bit JPEG, 2-component JPEG)
  CIC_NO_MEMORY = 4,    ///< malloc failed inside the library
  CIC_BAD_ARGUMENT = 5, ///< the caller's buffer is too small or the header changed between the two calls
};

/// PNG header as libpng validated it, plus what the decoder will write.
typedef struct {
  uint32_t width, height;
  int32_t bit_depth;      ///< 1, 2, 4, 8 or 16 as stored in the file
  int32_t color_type;     ///< PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA
  int32_t interlaced;     ///< 1 for Adam7
  /// Samples per pixel written to `out`: 1 (grey value or palette index) or 3 (RGB).
  /// Decoding applies only these libpng transforms: 16-bit -> high byte (png_set_strip_16), alpha dropped
  /// (png_set_strip_alpha, no compositing), sub-byte samples unpacked to one byte each WITHOUT rescaling
  /// (png_set_packing), and Adam7 de-interlacing. No gamma, no palette expansion, no tRNS: Swift does the rest.
  int32_t out_channels;
  int32_t palette_count;  ///< entries in `palette` (0 when the file has none)
  uint8_t palette[256 * 3];
} cic_png_info;

/// Decodes a PNG held in memory. See the file comment for the two-phase protocol.
/// `max_dimension` is handed to png_set_user_limits as a second line of defence behind Swift's own check.
int cic_png_decode(const uint8_t *data, size_t size, uint32_t max_dimension, cic_png_info *info,
                   uint8_t *out, size_t out_size, char *message, size_t message_size);

/// JPEG header as libjpeg read it.
typedef struct {
  uint32_t width, height;
  int32_t components;     ///< components in the file (1, 3 or 4 are decodable)
  int32_t color_space;    ///< libjpeg's J_COLOR_SPACE guess for the file (1 grey, 2 RGB, 3 YCbCr, 4 CMYK, 5 YCCK)
  /// Samples per pixel written to `out`: 1 (grey), 3 (RGB, libjpeg converts YCbCr), or 4 (CMYK exactly as
  /// libjpeg outputs it, YCCK already converted to CMYK; Adobe files store it inverted, Swift handles that).
  int32_t out_channels;
} cic_jpeg_info;

/// Decodes a baseline or progressive 8-bit JPEG held in memory with libjpeg's defaults (ISLOW DCT, fancy upsampling),
/// as Pillow does. "Premature end of JPEG file" is reported as CIC_TRUNCATED instead of libjpeg's default of
/// padding the image with grey. Other libjpeg warnings (e.g. extraneous bytes before a marker) are ignored, as Pillow does.
int cic_jpeg_decode(const uint8_t *data, size_t size, cic_jpeg_info *info,
                    uint8_t *out, size_t out_size, char *message, size_t message_size);

/// Encodes 8-bit grey (channels 1) or RGB (channels 3) pixels, laid out height x width x channels, as a PNG.
/// On success *out points to a malloc'd buffer of *out_size bytes that the caller releases with cic_free.
int cic_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int32_t channels,
                   uint8_t **out, size_t *out_size, char *message, size_t message_size);

/// Reads a whole file, gunzipping it when it is gzip-compressed (zlib's gz* API reads plain files unchanged).
/// Used for IDX datasets (MNIST / Fashion-MNIST ship as .gz). Refuses to produce more than `max_bytes`.
/// On success *out points to a malloc'd buffer of *out_size bytes that the caller releases with cic_free.
int cic_read_maybe_gzip(const char *path, size_t max_bytes, uint8_t **out, size_t *out_size, char *message,
                        size_t message_size);

/// Releases memory returned by this library.
void cic_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
