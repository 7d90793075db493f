/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ublkit-server: one process serving one ublk device. Started by
 * libublkit (ublkit add, ublkit recover, the daemon), never by hand; see
 * ublkit_server_main() in the library.
 */
#include "config.h"

#include "ublkit/ublk.h"

int main(int argc, char **argv)
{
	return ublkit_server_main(argc, argv);
}
