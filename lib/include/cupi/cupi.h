/* cupi/cupi.h - libcupi: a client for Cisco Unity Connection's provisioning
 * API (CUPI), SMTP server and SMTP client configuration resources.
 * Include this header only; it pulls in the rest. */
#ifndef CUPI_CUPI_H
#define CUPI_CUPI_H

#define CUPI_VERSION "0.1.0"

#include <cupi/status.h>
#include <cupi/fields.h>
#include <cupi/text.h>
#include <cupi/codec.h>
#include <cupi/client.h>
#include <cupi/secret.h>

#endif
