<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/">
    <xsl:for-each select="//item">
      <xsl:sort select="@qty" data-type="number" order="descending"/>
      <xsl:value-of select="@sku"/>:<xsl:value-of select="@qty"/><xsl:text> </xsl:text>
    </xsl:for-each>
    <xsl:text>|</xsl:text>
    <xsl:for-each select="//item">
      <xsl:sort select="@qty" data-type="text"/>
      <xsl:value-of select="@qty"/><xsl:text> </xsl:text>
    </xsl:for-each>
    <xsl:text>|</xsl:text>
    <xsl:for-each select="//order">
      <xsl:sort select="@region"/>
      <xsl:sort select="@id" order="descending"/>
      <xsl:value-of select="@id"/><xsl:text> </xsl:text>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
