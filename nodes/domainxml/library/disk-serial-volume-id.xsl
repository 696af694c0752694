<?xml version="1.0" encoding="UTF-8"?>
<!--
  Volume ids as disk serials: a disk whose source path (file or dev) contains a Eucalyptus
  volume id, "vol-" and 8 hex digits not followed by another hex digit
  (.../iqn...:store.vol-14AE3F68-lun-1), gets <serial>vol-14AE3F68</serial>, replacing any
  serial it had. Inside the guest the disk then shows up as
  /dev/disk/by-id/virtio-vol-14AE3F68, so users and scripts can find an attached volume
  whatever device name it got. Disks without a volume id in their path are left alone.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:variable name="hex" select="'0123456789abcdefABCDEF'"/>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <!-- The first "vol-" + 8 hex digits in $text (and no 9th), or nothing. -->
  <xsl:template name="volume-id">
    <xsl:param name="text"/>
    <xsl:if test="contains($text, 'vol-')">
      <xsl:variable name="after" select="substring-after($text, 'vol-')"/>
      <xsl:variable name="digits" select="substring($after, 1, 8)"/>
      <xsl:variable name="next" select="substring($after, 9, 1)"/>
      <xsl:choose>
        <xsl:when test="string-length($digits) = 8 and translate($digits, $hex, '') = ''
                        and ($next = '' or translate($next, $hex, '') != '')">
          <xsl:value-of select="concat('vol-', $digits)"/>
        </xsl:when>
        <xsl:otherwise>
          <xsl:call-template name="volume-id">
            <xsl:with-param name="text" select="$after"/>
          </xsl:call-template>
        </xsl:otherwise>
      </xsl:choose>
    </xsl:if>
  </xsl:template>

  <xsl:template match="/domain/devices/disk[source/@file or source/@dev]">
    <xsl:variable name="volume">
      <xsl:call-template name="volume-id">
        <xsl:with-param name="text" select="concat(source/@file, source/@dev)"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:copy>
      <xsl:choose>
        <xsl:when test="$volume != '' and serial">
          <xsl:apply-templates select="@*|node()" mode="serial">
            <xsl:with-param name="volume" select="$volume"/>
          </xsl:apply-templates>
        </xsl:when>
        <xsl:when test="$volume != ''">
          <xsl:apply-templates select="@*|node()"/>
          <serial><xsl:value-of select="$volume"/></serial>
        </xsl:when>
        <xsl:otherwise>
          <xsl:apply-templates select="@*|node()"/>
        </xsl:otherwise>
      </xsl:choose>
    </xsl:copy>
  </xsl:template>

  <!-- The disk's own serial, where it stood, takes the volume id. -->
  <xsl:template match="@*|node()" mode="serial">
    <xsl:apply-templates select="."/>
  </xsl:template>

  <xsl:template match="serial" mode="serial">
    <xsl:param name="volume"/>
    <serial><xsl:value-of select="$volume"/></serial>
  </xsl:template>
</xsl:stylesheet>
