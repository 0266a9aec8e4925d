// Thin shims over libpng and libjpeg. See include/CImageCodecs.h for the protocol.
//
// Buffers (shape legend):
//   data    [size]                              the encoded file, never modified
//   out     [height][width][out_channels] uint8 caller-owned; written only after the header has been re-checked
//   message [message_size]                      one line, NUL-terminated, no newlines
//
// Why each decode function holds its own setjmp: the libraries' error callbacks longjmp, and a jump must never cross
// a Swift frame. The callbacks below only record a status and a message, then jump back into the one function that
// called setjmp. Everything a jump could leak (libpng/libjpeg state) is destroyed on that landing path.
#include "CImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>  // before jpeglib.h, which uses FILE without including it
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

// Copies `text` into the message buffer on one line: the Swift side prints it verbatim after "file: ".
static void cic_set_message(char *message, size_t message_size, const char *text) {
  if (message == NULL || message_size == 0) return;
  size_t i = 0;
  for (; text != NULL && text[i] != '\0' && i + 1 < message_size; i++) {
    char ch = text[i];
    message[i] = (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
  }
  message[i] = '\0';
}

// ---------------------------------------------------------------------------------------------------------------- PNG

typedef struct {
  const uint8_t *data;
  size_t size, position;
  int status;
  char *message;
  size_t message_size;
} cic_png_context;

// libpng calls this for every byte it wants. Running out of bytes is reported as truncation, not as a generic error,
// because it is the common real-world failure (a partial download) and deserves its own message.
static void cic_png_read(png_structp png, png_bytep destination, size_t length) {
  cic_png_context *context = (cic_png_context *)png_get_io_ptr(png);
  size_t left = context->size - context->position;
  if (length > left) {
    if (context->status == CIC_OK) {
      char text[160];
      snprintf(text, sizeof text, "the data ends after %zu bytes", context->size);
      context->status = CIC_TRUNCATED;
      cic_set_message(context->message, context->message_size, text);
    }
    png_error(png, "truncated");  // does not return: lands in cic_png_error, which keeps the message above
  }
  memcpy(destination, context->data + context->position, length);
  context->position += length;
}

static void cic_png_error(png_structp png, png_const_charp text) {
  cic_png_context *context = (cic_png_context *)png_get_error_ptr(png);
  if (context->status == CIC_OK) {
    context->status = (text != NULL && strstr(text, "memory") != NULL) ? CIC_NO_MEMORY : CIC_CORRUPT;
    cic_set_message(context->message, context->message_size, text);
  }
  png_longjmp(png, 1);
}

// Warnings (bad ancillary CRC, odd iCCP, ...) do not stop Pillow either; ignore them.
static void cic_png_warning(png_structp png, png_const_charp text) {
  (void)png;
  (void)text;
}

int cic_png_decode(const uint8_t *data, size_t size, uint32_t max_dimension, cic_png_info *info,
                   uint8_t *out, size_t out_size, char *message, size_t message_size) {
  cic_png_context context = {data, size, 0, CIC_OK, message, message_size};
  cic_set_message(message, message_size, "");
  memset(info, 0, sizeof *info);

  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, cic_png_error, cic_png_warning);
  if (png == NULL) {
    cic_set_message(message, message_size, "libpng could not allocate its state");
    return CIC_NO_MEMORY;
  }
  png_infop png_info = png_create_info_struct(png);
  if (png_info == NULL) {
    png_destroy_read_struct(&png, NULL, NULL);
    cic_set_message(message, message_size, "libpng could not allocate its state");
    return CIC_NO_MEMORY;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &png_info, NULL);
    return context.status == CIC_OK ? CIC_CORRUPT : context.status;
  }

  png_set_read_fn(png, &context, cic_png_read);
  png_set_user_limits(png, max_dimension, max_dimension);
  // Pillow rejects a bad CRC in any chunk it reads, ancillary ones included; libpng would only warn for those.
  png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_ERROR_QUIT);
  png_read_info(png, png_info);

  info->width = png_get_image_width(png, png_info);
  info->height = png_get_image_height(png, png_info);
  info->bit_depth = png_get_bit_depth(png, png_info);
  info->color_type = png_get_color_type(png, png_info);
  info->interlaced = png_get_interlace_type(png, png_info) != PNG_INTERLACE_NONE;
  info->out_channels = (info->color_type & PNG_COLOR_MASK_COLOR) && info->color_type != PNG_COLOR_TYPE_PALETTE ? 3 : 1;
  if (info->color_type == PNG_COLOR_TYPE_PALETTE) {
    png_colorp palette = NULL;
    int count = 0;
    if (png_get_PLTE(png, png_info, &palette, &count) == PNG_INFO_PLTE && palette != NULL) {
      if (count > 256) count = 256;
      for (int i = 0; i < count; i++) {
        info->palette[3 * i + 0] = palette[i].red;
        info->palette[3 * i + 1] = palette[i].green;
        info->palette[3 * i + 2] = palette[i].blue;
      }
      info->palette_count = count;
    }
  }
  if (out == NULL) {
    png_destroy_read_struct(&png, &png_info, NULL);
    return CIC_OK;
  }

  if (info->bit_depth == 16) png_set_strip_16(png);  // keeps the high byte, as Pillow's RGB;16B unpacker does
  if (info->color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);  // dropped, not composited (Pillow's convert)
  if (info->bit_depth < 8) png_set_packing(png);
  int passes = png_set_interlace_handling(png);
  png_read_update_info(png, png_info);

  size_t row_bytes = png_get_rowbytes(png, png_info);
  size_t width = info->width, height = info->height;
  if (row_bytes != width * (size_t)info->out_channels || height == 0 || out_size / row_bytes < height) {
    png_destroy_read_struct(&png, &png_info, NULL);
    cic_set_message(message, message_size, "output buffer does not match the header");
    return CIC_BAD_ARGUMENT;
  }
  // With interlace handling on, libpng merges each Adam7 pass into the rows it is given, so passing the final rows
  // on every pass builds the full image without a separate row-pointer array.
  for (int pass = 0; pass < passes; pass++) {
    for (size_t y = 0; y < height; y++) png_read_row(png, out + y * row_bytes, NULL);
  }
  // No png_read_end: like Pillow, chunks after the image data (and a missing IEND) are not checked.
  png_destroy_read_struct(&png, &png_info, NULL);
  return CIC_OK;
}

// --------------------------------------------------------------------------------------------------------------- JPEG

typedef struct {
  struct jpeg_error_mgr pub;  // first member: libjpeg hands us a pointer to it
  jmp_buf jump;
  int status;
  char *message;
  size_t message_size;
} cic_jpeg_error_manager;

static void cic_jpeg_record(j_common_ptr cinfo, int status) {
  cic_jpeg_error_manager *manager = (cic_jpeg_error_manager *)cinfo->err;
  if (manager->status != CIC_OK) return;
  char text[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, text);
  manager->status = status;
  cic_set_message(manager->message, manager->message_size, text);
}

static void cic_jpeg_error_exit(j_common_ptr cinfo) {
  int status = CIC_CORRUPT;
  switch (cinfo->err->msg_code) {
    case JERR_OUT_OF_MEMORY: status = CIC_NO_MEMORY; break;
    case JERR_BAD_PRECISION:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_NOTIMPL: status = CIC_UNSUPPORTED; break;
    case JERR_INPUT_EOF: status = CIC_TRUNCATED; break;
    default: break;
  }
  cic_jpeg_record(cinfo, status);
  longjmp(((cic_jpeg_error_manager *)cinfo->err)->jump, 1);
}

// libjpeg's memory source answers "end of data" with a warning and a fake EOI, then pads the image with grey.
// Pillow refuses such files ("image file is truncated"), so that one warning becomes an error; the rest (extraneous
// bytes before a marker, ...) are common in real files and ignored, as Pillow ignores them.
static void cic_jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level != -1) return;
  cinfo->err->num_warnings++;
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    cic_jpeg_record(cinfo, CIC_TRUNCATED);
    longjmp(((cic_jpeg_error_manager *)cinfo->err)->jump, 1);
  }
}

static void cic_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

int cic_jpeg_decode(const uint8_t *data, size_t size, cic_jpeg_info *info,
                    uint8_t *out, size_t out_size, char *message, size_t message_size) {
  struct jpeg_decompress_struct cinfo;
  cic_jpeg_error_manager manager;
  memset(&cinfo, 0, sizeof cinfo);
  memset(&manager, 0, sizeof manager);
  memset(info, 0, sizeof *info);
  manager.status = CIC_OK;
  manager.message = message;
  manager.message_size = message_size;
  cic_set_message(message, message_size, "");

  cinfo.err = jpeg_std_error(&manager.pub);
  manager.pub.error_exit = cic_jpeg_error_exit;
  manager.pub.emit_message = cic_jpeg_emit_message;
  manager.pub.output_message = cic_jpeg_output_message;
  if (setjmp(manager.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return manager.status == CIC_OK ? CIC_CORRUPT : manager.status;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)size);
  (void)jpeg_read_header(&cinfo, TRUE);  // TRUE: a tables-only stream is an error (JERR_NO_IMAGE)

  info->width = cinfo.image_width;
  info->height = cinfo.image_height;
  info->components = cinfo.num_components;
  info->color_space = (int32_t)cinfo.jpeg_color_space;
  // Pillow picks the output from the component count alone: L, RGB, or CMYK (libjpeg turns YCCK into CMYK).
  J_COLOR_SPACE out_space;
  switch (cinfo.num_components) {
    case 1: out_space = JCS_GRAYSCALE; info->out_channels = 1; break;
    case 3: out_space = JCS_RGB; info->out_channels = 3; break;
    case 4: out_space = JCS_CMYK; info->out_channels = 4; break;
    default: {
      char text[96];
      snprintf(text, sizeof text, "JPEG with %d colour components (expected 1, 3 or 4)", cinfo.num_components);
      cic_set_message(message, message_size, text);
      jpeg_destroy_decompress(&cinfo);
      return CIC_UNSUPPORTED;
    }
  }
  if (out == NULL) {
    jpeg_destroy_decompress(&cinfo);
    return CIC_OK;
  }

  cinfo.out_color_space = out_space;
  (void)jpeg_start_decompress(&cinfo);
  size_t row_bytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
  if (cinfo.output_width != info->width || cinfo.output_height != info->height ||
      cinfo.output_components != info->out_channels || row_bytes == 0 ||
      out_size / row_bytes < (size_t)cinfo.output_height) {
    jpeg_destroy_decompress(&cinfo);
    cic_set_message(message, message_size, "output buffer does not match the header");
    return CIC_BAD_ARGUMENT;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out + (size_t)cinfo.output_scanline * row_bytes;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) break;  // cannot happen with a memory source; be safe
  }
  // No jpeg_finish_decompress: like Pillow, a missing EOI after the last scanline is accepted.
  int complete = cinfo.output_scanline == cinfo.output_height;
  jpeg_destroy_decompress(&cinfo);
  if (!complete) {
    cic_set_message(message, message_size, "the decoder stopped before the last row");
    return CIC_TRUNCATED;
  }
  return CIC_OK;
}

// ------------------------------------------------------------------------------------------------------ PNG encoding

int cic_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int32_t channels,
                   uint8_t **out, size_t *out_size, char *message, size_t message_size) {
  *out = NULL;
  *out_size = 0;
  cic_set_message(message, message_size, "");
  if (channels != 1 && channels != 3) {
    cic_set_message(message, message_size, "only 1 (grey) or 3 (RGB) channels can be written");
    return CIC_BAD_ARGUMENT;
  }
  // The simplified API does its own setjmp internally (png_safe_execute), so no jump can reach this frame.
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;

  png_alloc_size_t bytes = 0;
  if (!png_image_write_to_memory(&image, NULL, &bytes, 0, pixels, 0, NULL)) {
    cic_set_message(message, message_size, image.message);
    png_image_free(&image);
    return CIC_CORRUPT;
  }
  uint8_t *buffer = (uint8_t *)malloc(bytes > 0 ? bytes : 1);
  if (buffer == NULL) {
    cic_set_message(message, message_size, "out of memory");
    return CIC_NO_MEMORY;
  }
  if (!png_image_write_to_memory(&image, buffer, &bytes, 0, pixels, 0, NULL)) {
    cic_set_message(message, message_size, image.message);
    png_image_free(&image);
    free(buffer);
    return CIC_CORRUPT;
  }
  *out = buffer;
  *out_size = bytes;
  return CIC_OK;
}

void cic_free(void *pointer) { free(pointer); }

// ---------------------------------------------------------------------------------------------------------------------
// gzip (IDX datasets)

#include <zlib.h>

int cic_read_maybe_gzip(const char *path, size_t max_bytes, uint8_t **out, size_t *out_size, char *message,
                        size_t message_size) {
  *out = NULL;
  *out_size = 0;
  gzFile file = gzopen(path, "rb");
  if (file == NULL) {
    snprintf(message, message_size, "cannot open");
    return CIC_BAD_ARGUMENT;
  }
  size_t capacity = 1 << 20, size = 0;
  uint8_t *buffer = (uint8_t *)malloc(capacity);
  if (buffer == NULL) { gzclose(file); snprintf(message, message_size, "out of memory"); return CIC_NO_MEMORY; }
  for (;;) {
    if (size == capacity) {
      if (capacity >= max_bytes) {
        free(buffer); gzclose(file);
        snprintf(message, message_size, "decompresses to more than %zu bytes", max_bytes);
        return CIC_UNSUPPORTED;
      }
      size_t grown = capacity * 2 > max_bytes ? max_bytes : capacity * 2;
      uint8_t *bigger = (uint8_t *)realloc(buffer, grown);
      if (bigger == NULL) { free(buffer); gzclose(file); snprintf(message, message_size, "out of memory"); return CIC_NO_MEMORY; }
      buffer = bigger;
      capacity = grown;
    }
    size_t want = capacity - size;
    if (want > (1u << 30)) want = 1u << 30;
    int n = gzread(file, buffer + size, (unsigned)want);
    if (n < 0) {
      int errnum = 0;
      const char *reason = gzerror(file, &errnum);
      snprintf(message, message_size, "corrupt gzip data (%s)", reason ? reason : "zlib error");
      free(buffer); gzclose(file);
      return CIC_CORRUPT;
    }
    if (n == 0) break;
    size += (size_t)n;
  }
  // A truncated .gz reads as a short stream with an error flagged at close.
  int errnum = 0;
  gzerror(file, &errnum);
  gzclose(file);
  if (errnum != Z_OK && errnum != Z_STREAM_END) {
    free(buffer);
    snprintf(message, message_size, "truncated or corrupt gzip data");
    return CIC_TRUNCATED;
  }
  *out = buffer;
  *out_size = size;
  return CIC_OK;
}
