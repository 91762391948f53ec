# systemd.mk -- the Debian package under a real systemd (included by the
# Makefile).
#
#   make check-systemd  build the .deb, boot systemd 252 as PID 1 of a
#                       systemd-nspawn container (a bookworm root made by
#                       mmdebstrap, cached in $(BUILD)/systemd-root-*),
#                       install the package there and check it
#
# As root; needs systemd-container and mmdebstrap (installed by
# "sh mk/deps.sh systemd") and Debian's mirror for the first root.

# Bounded in time: on TERM the script still removes its container.
.PHONY: check-systemd
check-systemd: deb
	@sh mk/deps.sh systemd
	timeout 1200 bash tests/check-systemd.sh $(DEB_FILE) $(BUILD)
