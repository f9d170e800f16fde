/*
 * rules_mirage: does this host's KVM execute SSE inside an hvt guest?
 *
 * Emulating KVMs (such as kvm-pvm) fault on SSE and x87 instructions with
 * "KVM: internal error"; Rust images use SSE, so hvt tests need to know.
 * This image executes one SSE instruction, then says so and exits 0.
 */
#include "solo5.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    /* xorps %xmm0, %xmm0, as bytes: the toolchain compiles with -mno-sse. */
    __asm__ __volatile__(".byte 0x0f, 0x57, 0xc0");
    solo5_console_write("sse ok\n", 7);
    return 0;
}
