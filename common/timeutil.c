/* Monotonic and wall clocks in the units the rest of the code uses. */
#include "timeutil.h"

#include <time.h>

uint64_t cairn_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t cairn_mono_ms(void)
{
    return cairn_mono_us() / 1000u;
}

uint64_t cairn_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
