<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="no"/>
  <xsl:param name="region" select="'apac'"/>
  <xsl:param name="label">default</xsl:param>
  <xsl:template match="/">
    <picked label="{$label}">
      <xsl:for-each select="//order[@region=$region]"><id><xsl:value-of select="@id"/></id></xsl:for-each>
    </picked>
  </xsl:template>
</xsl:stylesheet>
