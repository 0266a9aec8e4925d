// ncurses for Swift: the wide-character API needs NCURSES_WIDECHAR before the header, and Swift cannot import
// function-like macros, so the few we need are wrapped as static inline functions.
#ifndef TOKENSCOPE_CCURSES_SHIM_H
#define TOKENSCOPE_CCURSES_SHIM_H
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <ncursesw/curses.h>

static inline WINDOW *ts_stdscr(void) { return stdscr; }
static inline int ts_lines(void) { return LINES; }
static inline int ts_cols(void) { return COLS; }
static inline int ts_colors(void) { return COLORS; }
static inline int ts_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t ts_a_bold(void) { return A_BOLD; }
static inline attr_t ts_a_reverse(void) { return A_REVERSE; }
static inline attr_t ts_a_underline(void) { return A_UNDERLINE; }
static inline attr_t ts_a_dim(void) { return A_DIM; }
static inline attr_t ts_a_normal(void) { return A_NORMAL; }
static inline int ts_key_f(int n) { return KEY_F(n); }
static inline mmask_t ts_button1_released(void) { return BUTTON1_RELEASED; }
static inline mmask_t ts_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t ts_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline mmask_t ts_button5_pressed(void) { return BUTTON5_PRESSED; }
#endif
