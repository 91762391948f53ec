# package.mk -- the Debian package (included by the Makefile).
#
#   make deb            build $(BUILD)/ekko_$(VERSION)-1_ARCH.deb
#   make check-package  build it, lintian it, install, run, remove, purge
#
# Nothing here runs unless one of these targets is asked for, so a plain
# "make" works without debhelper.

DEB_ARCH	 = $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_FILE	 = $(BUILD)/ekko_$(VERSION)-1_$(DEB_ARCH).deb

.PHONY: deb check-package
deb:
	@sh mk/deps.sh package
	sh packaging/build-deb.sh $(BUILD)

check-package: deb
	bash packaging/check-package.sh $(DEB_FILE)
