/* A codec of the tests' own, for registering with a client. */
#ifndef MCRING_TEST_TOY_CODEC_H
#define MCRING_TEST_TOY_CODEC_H

#include <stdint.h>

#include <mcring.h>

/*
 * "decimal": INT values as decimal text ("-99"). Encoding anything else is
 * MCRING_EENCODE; decoding text that is not a whole decimal number is
 * MCRING_EDECODE. decimal_codec() returns the codec with this name and
 * these flags, ready for mcring_client_add_codec(); name is borrowed. The
 * functions are there for tests that build a codec by hand.
 */
mcring_codec decimal_codec(const char *name, uint32_t flags);
int decimal_encode(void *ud, const mcring_value *v, mcring_item *out);
int decimal_decode(void *ud, const void *data, size_t len,
                   mcring_value **out);

#endif
