/* Clocks. Timeouts and sessions use the monotonic clock only, so wall-clock
 * jumps never trigger elections or fencing. */
#ifndef CAIRN_TIMEUTIL_H
#define CAIRN_TIMEUTIL_H

#include <stdint.h>

uint64_t cairn_mono_ms(void);
uint64_t cairn_mono_us(void);
uint64_t cairn_wall_ms(void);

#endif
