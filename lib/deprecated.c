/*
 * The 0.1.0 names of renamed functions (include/mcring/deprecated.h), each
 * calling the function that replaced it. Kept for one release; this file
 * goes when they do.
 */
#include "mcring.h"

void mcring_item_free(mcring_item *item)
{
    mcring_item_release(item);
}

int mcring_set_servers(mcring_client *client, const char *servers, char *err,
                       size_t errlen)
{
    return mcring_client_set_servers(client, servers, err, errlen);
}

size_t mcring_client_stats(mcring_client *client, mcring_server_stats *out,
                           size_t max)
{
    return mcring_client_server_stats(client, out, max);
}

mcring_ring *mcring_client_ring(mcring_client *client)
{
    return mcring_client_ring_ref(client);
}

const char *mcring_ring_mode(const mcring_ring *ring)
{
    return mcring_ring_mode_name(ring);
}

const char *mcring_ring_hash(const mcring_ring *ring)
{
    return mcring_ring_hash_name(ring);
}

const char *mcring_ring_point_hash(const mcring_ring *ring)
{
    return mcring_ring_point_hash_name(ring);
}
