# Debian packages built from the tree (included by the top-level Makefile):
#   make deb       corun, libcorun$(SOVERSION) and libcorun-dev in $(BUILD)/deb/
#                  (src/cli/deb.sh; needs dpkg-dev)
#   make deb-test  lintian on them, then installs them and tries them
#                  (tests/deb/smoke.sh): in a scratch root, and with
#                  DEB_SYSTEM=1 on this machine for real (root, apt; they
#                  are removed again afterwards)

DEB_DIR = $(BUILD)/deb

deb:
	bash src/cli/deb.sh $(VERSION) $(SOVERSION) $(DEB_DIR)

deb-test: deb
	bash tests/deb/smoke.sh $(DEB_DIR) $(if $(DEB_SYSTEM),--system)

.PHONY: deb deb-test
