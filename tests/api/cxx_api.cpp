// The public headers from C++: <mcring.h> compiles with -Wall -Wextra
// -pedantic -Werror (and every <mcring/*.h> alone, in the generated
// alone_*.cpp files linked in here), and a few calls from each header link
// against the shared library and work. No server is contacted.
#include <mcring.h>

#include <cstdio>
#include <cstring>

static int failures;

static void check(bool ok, const char *what)
{
    if (!ok) {
        std::fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

int main()
{
    // version.h, errors.h
    check(std::strcmp(mcring_version(), MCRING_VERSION_STRING) == 0,
          "mcring_version() is the headers' version");
    check(MCRING_VERSION_HEX == ((MCRING_VERSION_MAJOR << 16) |
                                 (MCRING_VERSION_MINOR << 8) |
                                 MCRING_VERSION_PATCH),
          "MCRING_VERSION_HEX");
    check(std::strcmp(mcring_err_name(MCRING_EKEY), "MCRING_EKEY") == 0,
          "mcring_err_name");
    check(std::strlen(mcring_strerror(MCRING_MISS)) > 0, "mcring_strerror");

    // options.h, ring.h
    mcring_options *opts = nullptr;
    check(mcring_options_new(&opts) == MCRING_OK, "mcring_options_new");
    char err[256];
    check(mcring_options_set(opts, "memcache_servers",
                             "10.0.0.1:11211,10.0.0.2:11211", err,
                             sizeof err) == MCRING_OK,
          "mcring_options_set");
    mcring_ring *ring = nullptr;
    check(mcring_ring_new(&ring, opts, err, sizeof err) == MCRING_OK,
          "mcring_ring_new");
    check(mcring_ring_size(ring) == 2, "mcring_ring_size");
    check(std::strcmp(mcring_ring_mode_name(ring), "swift") == 0,
          "mcring_ring_mode_name");
    size_t idx[2];
    check(mcring_ring_locate(ring, "key", 3, idx, 2) == 2,
          "mcring_ring_locate");
    mcring_ring_free(ring);
    mcring_options_set_trace(opts, nullptr, nullptr); // metrics.h

    // client.h (no call touches the network), codec.h, value.h, item.h
    mcring_client *client = nullptr;
    check(mcring_client_new(&client, opts, err, sizeof err) == MCRING_OK,
          "mcring_client_new");
    mcring_options_free(opts);
    mcring_server_stats stats[2];
    check(mcring_client_server_stats(client, stats, 2) == 2,
          "mcring_client_server_stats");
    check(mcring_client_codec(client, "msgpack") == mcring_codec_msgpack(),
          "mcring_client_codec");

    // metrics.h: nothing recorded yet, the exposition still complete
    check(mcring_client_op_stats(client, nullptr, 0) == 0,
          "mcring_client_op_stats");
    char text[8192];
    size_t n = mcring_client_write_prometheus(client, text, sizeof text);
    check(n > 0 && n < sizeof text && std::strstr(text, "mcring_servers 2"),
          "mcring_client_write_prometheus");
    check(std::strcmp(mcring_op_name(MCRING_OP_GET_MULTI), "get_multi") == 0,
          "mcring_op_name");

    mcring_value *v = mcring_value_new_map();
    check(mcring_value_map_add_str(v, "n", mcring_value_new_int(42)) == 0,
          "mcring_value_map_add_str");
    mcring_item item = MCRING_ITEM_INIT;
    check(mcring_json_encode(v, 0, &item) == MCRING_OK &&
              std::strcmp(item.data, "{\"n\": 42}") == 0,
          "mcring_json_encode");
    mcring_value *back = nullptr;
    check(mcring_codec_decode(mcring_codec_json(), item.data, item.len,
                              &back) == MCRING_OK &&
              mcring_value_equal(v, back),
          "mcring_codec_decode");
    mcring_value_free(back);
    mcring_value_free(v);
    mcring_item_release(&item);
    check(item.data == nullptr && item.len == 0, "mcring_item_release");
    mcring_client_free(client);

    if (failures == 0)
        std::printf("C++: every public header compiles; calls link and "
                    "work\n");
    return failures == 0 ? 0 : 1;
}
