/*
 * sdk/sdk_int.h: small helpers the SDK's own files share (sdk.c, mask.c).
 *
 * Not installed and not part of the SDK's interface: everything here is
 * static inline, so it adds no symbol to libgpcheck_sdk beyond gp_sdk_*.
 */
#ifndef GPCHECK_SDK_INT_H
#define GPCHECK_SDK_INT_H

/* The value of one hex digit c (either case), or -1 when c is not one. */
static inline int sdk_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
