/* test_file.c - the bounded, non-blocking reader of the files a
 * configuration names: only regular files within the bound are read; a
 * FIFO without a writer, an endless device, a directory or a socket is
 * refused at once (the test would hang or spin otherwise), saying what the
 * path is and never holding the path or the content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cupi/cupi.h>

#include "cupi_file.h"
#include "test_support.h"

typedef struct fixture {
    char dir[64];
    char path[160];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    if (temp_dir_make(fx->dir, sizeof fx->dir, "file") != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (temp_dir_remove(fx->dir) != 0)
        return -1;
    free(fx);
    return 0;
}

static const char *put(fixture *fx, const char *name, const char *data, size_t len)
{
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, name);
    FILE *f = fopen(fx->path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return fx->path;
}

static void regular_files_within_the_bound(void **state)
{
    fixture *fx = *state;
    char why[128] = "";
    size_t len = 0;
    struct stat st;
    char *buf =
        cupi_file_read(put(fx, "ten", "0123456789", 10), 10, &len, &st, why, sizeof why);
    assert_non_null(buf);
    assert_int_equal(len, 10);
    assert_memory_equal(buf, "0123456789", 10);
    assert_int_equal(buf[10], '\0');
    assert_true(S_ISREG(st.st_mode));
    free(buf);
    assert_true(cupi_file_check(fx->path, 10, why, sizeof why));
    /* One byte over: refused, errno EFBIG, the bound in the message. */
    errno = 0;
    assert_null(cupi_file_read(fx->path, 9, &len, NULL, why, sizeof why));
    assert_int_equal(errno, EFBIG);
    assert_non_null(strstr(why, "larger than 9 bytes"));
    assert_false(cupi_file_check(fx->path, 9, why, sizeof why));
    /* Empty. */
    buf = cupi_file_read(put(fx, "empty", "", 0), 10, &len, NULL, why, sizeof why);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    assert_int_equal(buf[0], '\0');
    free(buf);
    /* Bigger than the first guess of the buffer: it grows. */
    static char big[200000];
    memset(big, 'b', sizeof big);
    buf = cupi_file_read(put(fx, "big", big, sizeof big), sizeof big, &len, NULL, why,
                         sizeof why);
    assert_non_null(buf);
    assert_int_equal(len, sizeof big);
    assert_memory_equal(buf, big, sizeof big);
    free(buf);
}

/* A regular file whose size says nothing: /proc files say 0 and hold more. */
static void sizes_are_only_a_hint(void **state)
{
    (void)state;
    char why[128];
    size_t len = 0;
    char *buf = cupi_file_read("/proc/self/status", 65536, &len, NULL, why, sizeof why);
    assert_non_null(buf);
    assert_true(len > 0);
    assert_non_null(strstr(buf, "Pid:"));
    free(buf);
    /* ... and are still held to the bound. */
    errno = 0;
    assert_null(cupi_file_read("/proc/self/status", 16, &len, NULL, why, sizeof why));
    assert_int_equal(errno, EFBIG);
}

static void refused_kinds(void **state)
{
    fixture *fx = *state;
    char why[128];
    size_t len;
    /* A FIFO with no writer: open and read would wait forever. */
    char fifo[200];
    snprintf(fifo, sizeof fifo, "%s/fifo", fx->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    errno = 0;
    assert_null(cupi_file_read(fifo, 1024, &len, NULL, why, sizeof why));
    assert_int_equal(errno, EINVAL);
    assert_string_equal(why, "is a FIFO, not a regular file");
    assert_false(cupi_file_check(fifo, 1024, why, sizeof why));
    /* Endless. */
    assert_null(cupi_file_read("/dev/zero", 1024, &len, NULL, why, sizeof why));
    assert_string_equal(why, "is a character device, not a regular file");
    assert_false(cupi_file_check("/dev/zero", 1024, why, sizeof why));
    /* A directory. */
    assert_null(cupi_file_read(fx->dir, 1024, &len, NULL, why, sizeof why));
    assert_string_equal(why, "is a directory, not a regular file");
    /* A listening UNIX socket. */
    char sock_path[100];
    snprintf(sock_path, sizeof sock_path, "%s/sock", fx->dir);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s, 1), 0);
    errno = 0;
    assert_null(cupi_file_read(sock_path, 1024, &len, NULL, why, sizeof why));
    assert_int_equal(errno, EINVAL);
    assert_string_equal(why, "is a socket, not a regular file");
    close(s);
    /* Missing: ENOENT, so that an optional file may be told apart. */
    char missing[200];
    snprintf(missing, sizeof missing, "%s/missing", fx->dir);
    errno = 0;
    assert_null(cupi_file_read(missing, 1024, &len, NULL, why, sizeof why));
    assert_int_equal(errno, ENOENT);
    assert_string_equal(why, strerror(ENOENT));
    /* A symbolic link is followed: to a regular file it is read, to a FIFO
     * it is refused. */
    char link[200];
    snprintf(link, sizeof link, "%s/link", fx->dir);
    assert_int_equal(symlink(fifo, link), 0);
    assert_null(cupi_file_read(link, 1024, &len, NULL, why, sizeof why));
    assert_string_equal(why, "is a FIFO, not a regular file");
}

static void descriptors_are_read_with_a_bound(void **state)
{
    (void)state;
    char buf[16], why[128];
    int p[2];
    /* A pipe: up to end of file. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "abc\ndef", 7), 7);
    close(p[1]);
    assert_int_equal(cupi_file_read_fd(p[0], buf, sizeof buf, false, why, sizeof why), 7);
    assert_memory_equal(buf, "abc\ndef", 7);
    close(p[0]);
    /* Up to the first newline, leaving the rest unread. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "abc\ndef", 7), 7);
    close(p[1]);
    assert_int_equal(cupi_file_read_fd(p[0], buf, sizeof buf, true, why, sizeof why), 4);
    assert_memory_equal(buf, "abc\n", 4);
    assert_int_equal(read(p[0], buf, sizeof buf), 3);
    close(p[0]);
    /* Exactly the bound, then one byte more. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "0123456789abcdef", 16), 16);
    close(p[1]);
    assert_int_equal(cupi_file_read_fd(p[0], buf, 16, false, why, sizeof why), 16);
    close(p[0]);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "0123456789abcdefg", 17), 17);
    close(p[1]);
    errno = 0;
    assert_int_equal(cupi_file_read_fd(p[0], buf, 16, false, why, sizeof why), -1);
    assert_int_equal(errno, EFBIG);
    assert_string_equal(why, "more than 16 bytes");
    for (size_t i = 0; i < sizeof buf; i++) /* what was read is wiped */
        assert_int_equal(buf[i], 0);
    close(p[0]);
    /* An endless device ends at the bound, at once. */
    int z = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    assert_true(z >= 0);
    assert_int_equal(cupi_file_read_fd(z, buf, sizeof buf, false, why, sizeof why), -1);
    assert_int_equal(cupi_file_read_fd(z, buf, sizeof buf, true, why, sizeof why), -1);
    close(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(regular_files_within_the_bound, setup, teardown),
        cmocka_unit_test(sizes_are_only_a_hint),
        cmocka_unit_test_setup_teardown(refused_kinds, setup, teardown),
        cmocka_unit_test(descriptors_are_read_with_a_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
